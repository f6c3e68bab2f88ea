"""Accepting and looking up payments: the service layer between routes and adapters."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from functions.adapters.idempotency import RedisIdempotency, id_for_key
from functions.adapters.ports import MessageQueue, PaymentCounters, PaymentLedger
from functions.errors import DependencyDown, NotFound, ServiceUnavailable
from functions.ids import is_id, new_id
from functions.money import format_cents
from functions.observability import logger
from functions.payments.model import Payment, PaymentRequest
from functions.telemetry.metrics import LATENCY_BUCKETS_S, Increments, Metrics


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class PaymentService:
    """Example::

    service = PaymentService(queue, counters, ledger, idempotency, queue_name="surge-payments")
    service.accept(PaymentRequest(1250, "EUR"), request_id="r1")
    # -> {"id": "01J…", "status": "accepted", "amount": "12.50", "currency": "EUR"}
    """

    def __init__(
        self,
        queue: MessageQueue,
        counters: PaymentCounters,
        ledger: PaymentLedger,
        idempotency: RedisIdempotency,
        queue_name: str,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        metrics: Metrics | None = None,
    ):
        self._queue = queue
        self._counters = counters
        self._ledger = ledger
        self._idempotency = idempotency
        self._queue_name = queue_name
        self._clock_ms = clock_ms
        self._metrics = metrics

    def accept(self, request: PaymentRequest, *, request_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """Enqueue the payment, then count it. 202 only once the message is in SQS."""
        payload = {"amount_cents": request.amount_cents, "currency": request.currency}
        return self._idempotency.run_keyed(
            "payment", idempotency_key, payload, lambda key: self._accept(request, request_id, key)
        )

    def _accept(self, request: PaymentRequest, request_id: str, key: str | None) -> dict[str, Any]:
        now_ms = self._clock_ms()
        payment = Payment(
            id=id_for_key("payment", key) if key else new_id(now_ms),
            amount_cents=request.amount_cents,
            currency=request.currency,
            accepted_ms=now_ms,
            request_id=request_id,
            idempotency_key=key,
        )
        started = time.perf_counter()
        try:
            self._queue.send(self._queue_name, payment.to_message(), {"request_id": request_id})
        except DependencyDown as exc:
            logger.warning("payment not enqueued", extra={"reason": str(exc)})
            raise ServiceUnavailable("payments queue unavailable; nothing was accepted", retry_after=1) from exc
        usage = (
            Increments()
            .count("surge_payments_accepted_total", currency=payment.currency)
            .observe("surge_enqueue_latency_seconds", time.perf_counter() - started, LATENCY_BUCKETS_S)
        )
        try:
            # the metric increments ride in the same Lua call: no extra round trip
            self._counters.record(payment, self._metrics.fold(usage) if self._metrics else None)
        except DependencyDown as exc:
            # Durable in SQS already: the client keeps its 202; reconcile rebuilds the counters.
            logger.warning("payment accepted but not counted", extra={"payment_id": payment.id, "reason": str(exc)})
        # DEBUG: ~25 µs of CPU per line at INFO; the worker's batch line names every id at INFO
        logger.debug("payment accepted", extra={"payment_id": payment.id, "amount": payment.amount})
        return payment.accepted_body()

    def store_directly(self, request: PaymentRequest, *, request_id: str) -> dict[str, Any]:
        """COMPARISON PATH ONLY (``POST /payment/direct``): write MySQL inside the request.

        What the seeds' "direct" strategies did (Laravel writing its database per request),
        kept so the load test can compare it with the queued path. No SQS, no batching:
        one INSERT + COMMIT per request, then the same Redis counters, so the audit and
        the statistics treat both paths alike. Not idempotent by key; not for clients.
        """
        now_ms = self._clock_ms()
        payment = Payment(new_id(now_ms), request.amount_cents, request.currency, now_ms, request_id)
        try:
            self._ledger.store([payment])
        except DependencyDown as exc:
            raise ServiceUnavailable("payments store unavailable; nothing was accepted", retry_after=1) from exc
        try:
            self._counters.record(payment)
        except DependencyDown as exc:
            logger.warning("payment stored but not counted", extra={"payment_id": payment.id, "reason": str(exc)})
        return {**payment.accepted_body(), "status": "stored"}

    def status(self, payment_id: str) -> dict[str, Any]:
        """``stored`` from MySQL, else ``accepted`` (in flight) from Redis, else 404."""
        if not is_id(payment_id):
            raise NotFound(f"no payment with id {payment_id[:40]!r}")
        try:
            row = self._ledger.get(payment_id)
        except DependencyDown as exc:
            raise ServiceUnavailable("payments store unavailable") from exc
        if row is not None:
            return row
        try:
            marker = self._counters.marker(payment_id)
        except DependencyDown as exc:
            raise ServiceUnavailable("payments cache unavailable") from exc
        if marker is None:
            raise NotFound(f"no payment with id {payment_id!r}")
        return {
            "id": payment_id,
            "status": "accepted",
            "amount": format_cents(int(marker["amount_cents"])),
            "currency": marker["currency"],
            "accepted_at": _iso(int(marker["accepted_ms"])),
        }
