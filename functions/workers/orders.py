"""Settle a batch of orders: MySQL decides (guarded stock, one transaction), Redis follows.

A confirmed order's units stop being "pending" in Redis; a rejected one (MySQL had
less stock than Redis believed) gets its reservation back and its reason on the
marker. Malformed messages fail alone; a MySQL outage fails the batch; a Redis
failure after the commit fails only the orders it touched, and their redelivery finds
them already stored and repeats just the Redis step.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent

from functions.adapters.ports import OrderStore, StockGate
from functions.bootstrap import surge
from functions.checkout.model import Order
from functions.config import get_settings
from functions.errors import DependencyDown
from functions.observability import logger
from functions.workers.batch import batch_response, message_id

bp = Blueprint(__name__)


def settle_batch(orders: OrderStore, stock: StockGate, messages: list[tuple[str, str]]) -> dict[str, Any]:
    """``messages`` are (message id, body)."""
    failed: list[str] = []
    parsed: list[tuple[str, Order]] = []
    for mid, body in messages:
        try:
            parsed.append((mid, Order.from_message(body)))
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("malformed order message", extra={"message_id": mid, "reason": str(exc)})
            failed.append(mid)
    try:
        settlements = orders.store([o for _, o in parsed])
    except DependencyDown as exc:
        logger.warning("order batch not stored; it will come back", extra={"reason": str(exc)})
        return batch_response(failed + [mid for mid, _ in parsed])
    for (mid, order), settled in zip(parsed, settlements, strict=True):
        try:
            if settled.status == "confirmed":
                stock.confirm(order)
            else:
                stock.release(order, "rejected", settled.reason or "rejected")
        except DependencyDown as exc:
            logger.warning(
                "order stored, Redis not updated; it will come back", extra={"order_id": order.id, "reason": str(exc)}
            )
            failed.append(mid)
            continue
        # confirmed: DEBUG (the batch line names them at INFO); rejected: always a WARNING
        log = logger.debug if settled.status == "confirmed" else logger.warning
        log(f"order {settled.status}", extra={"order_id": order.id, "reason": settled.reason,
                                              "correlation_id": order.request_id})  # fmt: skip
    if parsed:
        logger.info("order batch settled", extra={"size": len(parsed), "order_ids": [o.id for _, o in parsed]})
    return batch_response(failed)


@bp.on_sqs_message(queue=get_settings().queue_name("orders"), batch_size=50, maximum_batching_window_in_seconds=1)
def settle_orders(event: SQSEvent) -> dict[str, Any]:
    app = surge()
    return settle_batch(app.orders, app.stock, [(message_id(r), r.body) for r in event])
