"""Put Redis stock back in line with MySQL: available = MySQL stock - units still pending.

A product Redis has lost is restored at once. A product whose availability differs is
corrected only once the orders queue is drained: while the worker is settling, an
order can sit between its MySQL commit and its Redis update, and "correcting" it then
would create the very drift we look for. Either way the MySQL guard keeps overselling
impossible; this keeps Redis from refusing buyers stock that exists (or promising stock
that does not).
"""

from __future__ import annotations

from typing import Any

from functions.ports import OrderStore, StockGate

REPORT_LIMIT = 50  # products listed in the report; the counts cover all of them


def reconcile_stock(stock: StockGate, orders: OrderStore, queue_drained: bool) -> dict[str, Any]:
    """Example report::

    {"products_checked": 1001, "restored": 0, "corrected": 1, "deferred": 0, "drift_units": 7,
     "queue_drained": True, "drift": [{"product_id": 100, "redis": 57, "expected": 50, "mysql": 50, "pending": 0}]}
    """
    products = orders.products()
    cached = stock.available([p.id for p in products])
    pending = stock.pending()
    missing = [p for p in products if cached[p.id] is None]
    if missing:
        stock.load_many(missing)
    differing = [
        p for p in products if cached[p.id] is not None and cached[p.id] != max(0, p.stock - pending.get(p.id, 0))
    ]
    drift: list[dict[str, Any]] = []
    if queue_drained and differing:
        # recomputed atomically against the pending count of this instant, not the one read above
        for product, (before, after) in zip(differing, stock.load_many(differing, force=True), strict=True):
            if before != after:
                drift.append(
                    {
                        "product_id": product.id,
                        "redis": before,
                        "expected": after,
                        "mysql": product.stock,
                        "pending": pending.get(product.id, 0),
                    }
                )
    return {
        "products_checked": len(products),
        "restored": len(missing),
        "corrected": len(drift),
        "deferred": 0 if queue_drained else len(differing),
        "drift_units": sum(abs((d["redis"] or 0) - d["expected"]) for d in drift),
        "queue_drained": queue_drained,
        "drift": drift[:REPORT_LIMIT],
    }
