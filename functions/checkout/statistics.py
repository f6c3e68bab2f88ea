"""The ``orders`` section of ``GET /statistics``: window figures, best sellers, sold out, last drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.money import format_cents
from functions.ports import StockGate
from functions.statistics.window import Window

BEST_SELLERS = 5
SOLD_OUT_LISTED = 20


def orders_section(
    stock: StockGate, currency: str, last_reconcile: Callable[[], dict[str, Any] | None]
) -> Callable[[Window], dict[str, Any]]:
    """Orders are counted when accepted and taken out again if rejected or cancelled, so
    the figures are orders pending or confirmed. The section looks like::

        {"currency": "EUR", "count": 1820, "revenue": "908180.00", "units": 10000, "per_second": 1.517,
         "best_sellers": [{"product_id": 100, "sold": 10000, "available": 0}],
         "sold_out": {"count": 1, "product_ids": [100]}, "stock_reconcile": {...}}
    """

    def section(window: Window) -> dict[str, Any]:
        count, cents, units = stock.window(window.first, window.last).get(currency, [0, 0, 0])
        sold_out, some = stock.sold_out(SOLD_OUT_LISTED)
        last = last_reconcile()
        return {
            "currency": currency,
            "count": count,
            "revenue": format_cents(cents),
            "units": units,
            "per_second": round(count / window.seconds, 3),
            "best_sellers": [
                {"product_id": pid, "sold": sold, "available": available}
                for pid, sold, available in stock.best_sellers(BEST_SELLERS)
            ],
            "sold_out": {"count": sold_out, "product_ids": some},
            "stock_reconcile": last.get("stock") if last else None,
        }

    return section
