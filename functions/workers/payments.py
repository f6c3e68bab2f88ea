"""Store a batch of accepted payments in MySQL: one transaction, idempotent by id.

Each payment's log lines carry the request id minted at the gateway as their
``correlation_id`` (from the message body, else its ``request_id`` attribute), so one
payment can be followed from its request to its row in MySQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent

from functions.adapters.ports import PaymentLedger
from functions.bootstrap import surge
from functions.config import get_settings
from functions.errors import DependencyDown
from functions.observability import logger, set_correlation_id
from functions.payments.model import Payment
from functions.workers.batch import batch_response, batch_usage, message_id, request_id_attribute

bp = Blueprint(__name__)


def store_batch(
    ledger: PaymentLedger, messages: list[tuple[str, str]], request_ids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``messages`` are (message id, body). Malformed ones fail alone; a MySQL outage fails all.

    ``request_ids`` (message id -> request id attribute) tag the log lines of messages
    whose body cannot say it.
    """
    request_ids = request_ids or {}
    failed: list[str] = []
    parsed: list[tuple[str, Payment]] = []
    try:
        for mid, body in messages:
            try:
                parsed.append((mid, Payment.from_message(body)))
            except (ValueError, KeyError, TypeError) as exc:
                set_correlation_id(request_ids.get(mid))
                logger.error("malformed payment message", extra={"message_id": mid, "reason": str(exc)})
                failed.append(mid)
        try:
            inserted = ledger.store([p for _, p in parsed])
        except DependencyDown as exc:
            if not exc.transient and len(parsed) > 1:
                # MySQL refused something in this batch: store one by one so that only the
                # poison fails (and reaches the DLQ), not its neighbours
                failed.extend(_store_one_by_one(ledger, parsed, request_ids))
                return batch_response(failed)
            for mid, payment in parsed:
                set_correlation_id(payment.request_id or request_ids.get(mid))
                logger.warning("payment not stored; it will come back", extra={"payment_id": payment.id})
            set_correlation_id(None)
            logger.warning("payment batch not stored; it will come back", extra={"reason": str(exc)})
            failed.extend(mid for mid, _ in parsed)
        else:
            if logger.log_level <= logging.DEBUG:  # one line per payment: LOG_LEVEL=DEBUG only
                for mid, payment in parsed:
                    set_correlation_id(payment.request_id or request_ids.get(mid))
                    logger.debug("payment stored", extra={"payment_id": payment.id, "message_id": mid})
            set_correlation_id(None)
            # at INFO, one line per batch names every payment: a payment is still found by its id
            payment_ids = [p.id for _, p in parsed]
            logger.info(
                "payment batch stored", extra={"size": len(parsed), "inserted": inserted, "payment_ids": payment_ids}
            )
    finally:
        set_correlation_id(None)
    return batch_response(failed)


def _store_one_by_one(
    ledger: PaymentLedger, parsed: list[tuple[str, Payment]], request_ids: Mapping[str, str]
) -> list[str]:
    """Store each payment alone; return the message ids that failed."""
    failed: list[str] = []
    for n, (mid, payment) in enumerate(parsed):
        set_correlation_id(payment.request_id or request_ids.get(mid))
        try:
            ledger.store([payment])
        except DependencyDown as exc:
            if exc.transient:  # MySQL went away meanwhile: the rest comes back too
                logger.warning("payment batch not stored; it will come back", extra={"reason": str(exc)})
                return failed + [m for m, _ in parsed[n:]]
            logger.error(
                "payment refused by MySQL; it goes to the DLQ after its last receive",
                extra={"payment_id": payment.id, "message_id": mid, "reason": str(exc)},
            )
            failed.append(mid)
        else:  # one by one: rare, so each at INFO
            logger.info("payment stored", extra={"payment_id": payment.id, "message_id": mid})
    set_correlation_id(None)
    return failed


@bp.on_sqs_message(queue=get_settings().queue_name("payments"), batch_size=50, maximum_batching_window_in_seconds=1)
def store_payments(event: SQSEvent) -> dict[str, Any]:
    app = surge()
    records = list(event)
    request_ids = {message_id(r): rid for r in records if (rid := request_id_attribute(r))}
    result = store_batch(app.ledger, [(message_id(r), r.body) for r in records], request_ids)
    app.metrics.record(batch_usage("payments", records, len(result["batchItemFailures"]), time.time() * 1000))
    app.metrics.flush()
    return result
