"""Flash-sale checkout: reserve stock (POST /checkout), look up orders and products, settle (worker)."""
