"""The flash-sale catalogue: one hot product and many regular ones.

The operator service (``functions.admin.service``) loads it into MySQL and Redis.
"""

from __future__ import annotations

from functions.checkout.model import Product

HOT_PRODUCT_ID = 100
FIRST_REGULAR_ID = 1001


def catalogue(hot_stock: int = 10_000, products: int = 1000, regular_stock: int = 100) -> list[Product]:
    """One hot product (id 100) and ``products`` regular ones (ids 1001…), prices fixed by id.

    >>> [p.id for p in catalogue(products=2)]
    [100, 1001, 1002]
    """
    hot = Product(HOT_PRODUCT_ID, "HOT-100", "Flash-sale console", 49_900, hot_stock)
    regular = [
        Product(pid, f"SKU-{pid}", f"Regular item {pid}", 199 + (pid * 7919) % 20_000, regular_stock)
        for pid in range(FIRST_REGULAR_ID, FIRST_REGULAR_ID + products)
    ]
    return [hot, *regular]
