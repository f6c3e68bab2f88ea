"""Payments: accept (POST /payment), look up (GET /payments/{id}), store (worker)."""
