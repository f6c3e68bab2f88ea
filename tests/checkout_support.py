"""Helpers of the checkout tests: a buyer's request body and MySQL truths to assert on."""

from __future__ import annotations

from typing import Any

DELIVERY = {"address": "1 Khreshchatyk St, Kyiv", "phone": "+380 44 123 4567", "email": "buyer@example.com"}


def order_body(*lines: tuple[int, int]) -> dict[str, Any]:
    """``order_body((100, 2), (1001, 1))`` -> a valid POST /checkout body."""
    return {"items": [{"product_id": p, "quantity": q} for p, q in lines], "delivery": DELIVERY}


def mysql_stock(surge_app: Any, product_id: int) -> int:
    with surge_app.db.transaction() as cur:
        cur.execute("SELECT stock FROM products WHERE id = %s", (product_id,))
        return int(cur.fetchone()[0])


def confirmed_units(surge_app: Any, product_id: int) -> int:
    with surge_app.db.transaction() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
            "WHERE o.status = 'confirmed' AND i.product_id = %s",
            (product_id,),
        )
        return int(cur.fetchone()[0])


def order_count(surge_app: Any, status: str | None = None) -> int:
    with surge_app.db.transaction() as cur:
        if status is None:
            cur.execute("SELECT COUNT(*) FROM orders")
        else:
            cur.execute("SELECT COUNT(*) FROM orders WHERE status = %s", (status,))
        return int(cur.fetchone()[0])


def available(surge_app: Any, product_id: int) -> int | None:
    return surge_app.stock.available([product_id])[product_id]
