"""Give back reservations that never became an order: a gateway died (or lost SQS) between
reserving the stock in Redis and sending the order, so no worker will ever settle it.

A reservation is given back when it is older than the bound, no worker has claimed it
and MySQL does not have its order; the Lua script re-checks "pending, unclaimed, old
enough" atomically, so a second sweep, a late message or a late gateway release finds
nothing left to give. Why this cannot oversell: docs/checkout.md.
"""

from __future__ import annotations

from typing import Any

from functions.ports import OrderStore, StockGate

BATCH = 500  # reservations looked at per round; a few rounds per run


def expired_reason(timeout_s: int) -> str:
    return f"reservation expired: the order did not reach the queue within {timeout_s} s"


def sweep_reservations(
    stock: StockGate, orders: OrderStore, now_ms: int, timeout_s: int, rounds: int = 20, batch: int = BATCH
) -> dict[str, Any]:
    """Example report::

    {"timeout_seconds": 300, "checked": 3, "released": 1, "units": 2, "claimed": 1, "in_mysql": 1, "settled": 0}
    """
    cutoff = now_ms - timeout_s * 1000
    report = {"timeout_seconds": timeout_s, "checked": 0, "released": 0, "units": 0, "claimed": 0, "in_mysql": 0}
    report["settled"] = 0
    skip: set[str] = set()  # looked at once per run
    for _ in range(rounds):
        held = [h for h in stock.stale(cutoff, batch + len(skip)) if h.order_id not in skip]
        if not held:
            break
        settled = [h.order_id for h in held if h.order is None]
        stock.forget(settled)  # confirmed, rejected or gone: nothing to give back
        open_ = [h for h in held if h.order is not None]
        stored = orders.existing([h.order_id for h in open_ if not h.claimed])
        for h in open_:
            skip.add(h.order_id)
            if h.claimed or h.order_id in stored:  # the worker settles it (its Redis step may be coming)
                report["claimed" if h.claimed else "in_mysql"] += 1
            elif h.order is not None and stock.release(h.order, "expired", expired_reason(timeout_s), cutoff):
                report["released"] += 1
                report["units"] += h.order.units
        report["checked"] += len(held)
        report["settled"] += len(settled)
    return report
