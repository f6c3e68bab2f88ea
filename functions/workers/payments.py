"""Store a batch of accepted payments in MySQL: one transaction, idempotent by id."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent

from functions.adapters.ports import PaymentLedger
from functions.bootstrap import surge
from functions.config import get_settings
from functions.errors import DependencyDown
from functions.observability import logger
from functions.payments.model import Payment
from functions.workers.batch import batch_response, message_id

bp = Blueprint(__name__)


def store_batch(ledger: PaymentLedger, messages: list[tuple[str, str]]) -> dict[str, Any]:
    """``messages`` are (message id, body). Malformed ones fail alone; a MySQL outage fails all."""
    failed: list[str] = []
    parsed: list[tuple[str, Payment]] = []
    for mid, body in messages:
        try:
            parsed.append((mid, Payment.from_message(body)))
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("malformed payment message", extra={"message_id": mid, "reason": str(exc)})
            failed.append(mid)
    try:
        inserted = ledger.store([p for _, p in parsed])
    except DependencyDown as exc:
        logger.warning("payment batch not stored; it will come back", extra={"reason": str(exc)})
        failed.extend(mid for mid, _ in parsed)
    else:
        for _mid, payment in parsed:
            logger.info("payment stored", extra={"payment_id": payment.id, "correlation_id": payment.request_id})
        logger.info("payment batch stored", extra={"size": len(parsed), "inserted": inserted})
    return batch_response(failed)


@bp.on_sqs_message(queue=get_settings().queue_name("payments"), batch_size=50, maximum_batching_window_in_seconds=1)
def store_payments(event: SQSEvent) -> dict[str, Any]:
    return store_batch(surge().ledger, [(message_id(r), r.body) for r in event])
