"""Accepting and looking up payments: the service layer between routes and adapters."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from functions.batching import Batching, one_by_one
from functions.errors import DependencyDown, NotFound
from functions.idempotency import id_for_key
from functions.ids import is_id, new_id
from functions.messages import parse_messages
from functions.money import format_cents
from functions.observability import logger, set_correlation_id
from functions.payments.model import Payment, PaymentRequest
from functions.ports import Idempotency, MessageQueue, PaymentCounters, PaymentLedger
from functions.telemetry.metrics import LATENCY_BUCKETS_S, Increments, Metrics


class _Accepting(NamedTuple):
    """A payment on its way into SQS, and when its request handed it over (for the latency metric)."""

    payment: Payment
    submitted: float


def _request_attribute(payment: Payment) -> dict[str, str] | None:
    """The request id as a message attribute: the worker's log lines carry it."""
    return {"request_id": payment.request_id} if payment.request_id else None


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class PaymentService:
    """Accept payments into the queue, store them from it, tell their status.

    On in-memory fakes of its ports (``tests/fakes.py``):

    >>> from tests.fakes import FakeIdempotency, FakePaymentCounters, FakePaymentLedger, FakeQueue
    >>> queue = FakeQueue()
    >>> service = PaymentService(queue, FakePaymentCounters(), FakePaymentLedger(), FakeIdempotency(), "surge-payments")
    >>> body = service.accept(PaymentRequest(1250, "EUR"), request_id="r1")
    >>> body["status"], body["amount"], len(queue.bodies("surge-payments"))
    ('accepted', '12.50', 1)
    >>> service.store_batch([("m1", queue.bodies("surge-payments")[0])])  # the worker's step: nothing failed
    []
    >>> service.status(body["id"])["status"]
    'stored'
    """

    def __init__(
        self,
        queue: MessageQueue,
        counters: PaymentCounters,
        ledger: PaymentLedger,
        idempotency: Idempotency,
        queue_name: str,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        metrics: Metrics | None = None,
        batching: Batching[_Accepting, dict[str, Any]] = one_by_one,
    ):
        self._queue = queue
        self._counters = counters
        self._ledger = ledger
        self._idempotency = idempotency
        self._queue_name = queue_name
        self._clock_ms = clock_ms
        self._metrics = metrics
        # concurrent payments share one SendMessageBatch and one Redis call (a gateway process)
        self._enqueue = batching(self._accept_many)

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
        # DEBUG: ~25 µs of CPU per line at INFO; the worker's batch line names every id at INFO
        logger.debug("payment accepted", extra={"payment_id": payment.id, "amount": payment.amount})
        return self._enqueue(_Accepting(payment, time.perf_counter()))

    def _accept_many(self, batch: list[_Accepting]) -> list[dict[str, Any] | Exception]:
        """Send the batch to SQS in one call, then count what SQS took in one Redis call."""
        sent = self._queue.send_batch(
            self._queue_name, [(a.payment.to_message(), _request_attribute(a.payment)) for a in batch]
        )
        in_sqs = time.perf_counter()
        accepted = [a.payment for a, result in zip(batch, sent, strict=True) if not isinstance(result, Exception)]
        if accepted:
            usage = Increments()
            for a, result in zip(batch, sent, strict=True):
                if not isinstance(result, Exception):
                    usage.count("surge_payments_accepted_total", currency=a.payment.currency)
                    usage.observe("surge_enqueue_latency_seconds", in_sqs - a.submitted, LATENCY_BUCKETS_S)
            try:
                # the metric increments ride in the same Lua call: no extra round trip
                self._counters.record_many(accepted, self._metrics.fold(usage) if self._metrics else None)
            except DependencyDown as exc:
                # Durable in SQS already: the clients keep their 202; reconcile rebuilds the counters.
                logger.warning(
                    "payments accepted but not counted",
                    extra={"payment_ids": [p.id for p in accepted], "reason": str(exc)},
                )
        return [
            result if isinstance(result, Exception) else a.payment.accepted_body()
            for a, result in zip(batch, sent, strict=True)
        ]

    def store_directly(self, request: PaymentRequest, *, request_id: str) -> dict[str, Any]:
        """COMPARISON PATH ONLY (``POST /payment/direct``): write MySQL inside the request.

        What the seeds' "direct" strategies did (Laravel writing its database per request),
        kept so the load test can compare it with the queued path. No SQS, no batching:
        one INSERT + COMMIT per request, then the same Redis counters, so the audit and
        the statistics treat both paths alike. Not idempotent by key; not for clients.
        """
        now_ms = self._clock_ms()
        payment = Payment(new_id(now_ms), request.amount_cents, request.currency, now_ms, request_id)
        self._ledger.store([payment])
        try:
            self._counters.record(payment)
        except DependencyDown as exc:
            logger.warning("payment stored but not counted", extra={"payment_id": payment.id, "reason": str(exc)})
        return {**payment.accepted_body(), "status": "stored"}

    def store_batch(
        self, messages: Sequence[tuple[str, str]], request_ids: Mapping[str, str] | None = None
    ) -> list[str]:
        """The worker's step: store queued payments; the message ids that must come back."""
        return store_batch(self._ledger, messages, request_ids)

    def status(self, payment_id: str) -> dict[str, Any]:
        """``stored`` from MySQL, else ``accepted`` (in flight) from Redis, else 404."""
        if not is_id(payment_id):
            raise NotFound(f"no payment with id {payment_id[:40]!r}")
        stored = self._ledger.get(payment_id)
        if stored is not None:
            return stored.body()
        marker = self._counters.marker(payment_id)
        if marker is None:
            raise NotFound(f"no payment with id {payment_id!r}")
        return {
            "id": payment_id,
            "status": "accepted",
            "amount": format_cents(int(marker["amount_cents"])),
            "currency": marker["currency"],
            "accepted_at": _iso(int(marker["accepted_ms"])),
        }


def store_batch(
    ledger: PaymentLedger, messages: Sequence[tuple[str, str]], request_ids: Mapping[str, str] | None = None
) -> list[str]:
    """Store a batch of accepted payments in MySQL: one transaction, idempotent by id.

    ``messages`` are (message id, body); returns the ids of those that failed (they come
    back). Malformed ones fail alone; a MySQL outage fails all.

    ``request_ids`` (message id -> request id attribute) tag the log lines of messages
    whose body cannot say it.
    """
    request_ids = request_ids or {}
    parsed, failed = parse_messages(messages, Payment.from_message, "payment", request_ids)
    try:
        inserted = ledger.store([p for _, p in parsed])
    except DependencyDown as exc:
        if not exc.transient and len(parsed) > 1:
            # MySQL refused something in this batch: store one by one so that only the
            # poison fails (and reaches the DLQ), not its neighbours
            failed.extend(_store_one_by_one(ledger, parsed, request_ids))
            return failed
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
    return failed


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
