"""The helper every SQS worker shares, with the real services on fakes: partial batch
failures, correlation ids from the message attribute, batch metrics."""

from __future__ import annotations

import time
from typing import Any

import pytest
from chalice.app import SQSEvent

from functions.ids import new_id
from functions.payments.model import Payment
from functions.payments.service import PaymentService
from functions.telemetry.metrics import Metrics
from functions.workers.batch import handle_batch
from tests.fakes import FakeIdempotency, FakeMetricStore, FakePaymentCounters, FakePaymentLedger, FakeQueue
from tests.logs import captured_logs

NOW_MS = 1_767_225_600_000


def record(mid: str, body: str, request_id: str | None = None, sent_ms: int = NOW_MS) -> dict[str, Any]:
    attributes = {"request_id": {"stringValue": request_id, "dataType": "String"}} if request_id else {}
    return {
        "messageId": mid,
        "receiptHandle": f"h-{mid}",
        "body": body,
        "attributes": {"SentTimestamp": str(sent_ms)},
        "messageAttributes": attributes,
    }


def event(*records: dict[str, Any]) -> SQSEvent:
    return SQSEvent({"Records": list(records)}, None)


def payment(n: int, request_id: str | None = None) -> str:
    return Payment(new_id(NOW_MS + n), 100 + n, "EUR", NOW_MS + n, request_id).to_message()


def service(ledger: FakePaymentLedger) -> PaymentService:
    return PaymentService(FakeQueue(), FakePaymentCounters(), ledger, FakeIdempotency(), "t-payments")


def test_only_the_failed_messages_come_back_and_the_batch_is_measured() -> None:
    ledger = FakePaymentLedger()
    store = FakeMetricStore()
    answer = handle_batch(
        "payments",
        event(record("m1", payment(1)), record("bad", "{"), record("m2", payment(2))),
        service(ledger).store_batch,
        Metrics(store, emf=False),
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert len(ledger.rows) == 2
    assert store.calls == 1  # one round trip for every metric of the batch
    assert store.fields['surge_worker_messages_total{outcome="stored",queue="payments"}'] == 2
    assert store.fields['surge_worker_messages_total{outcome="failed",queue="payments"}'] == 1
    assert store.fields['surge_worker_batch_size_count{queue="payments"}'] == 1
    assert store.fields['surge_worker_lag_seconds_count{queue="payments"}'] == 3


def test_an_outage_sends_the_whole_batch_back_and_metrics_failing_do_not_matter() -> None:
    ledger = FakePaymentLedger()
    ledger.down = True
    store = FakeMetricStore()
    store.down = True
    answer = handle_batch(
        "payments",
        event(record("m1", payment(1)), record("m2", payment(2))),
        service(ledger).store_batch,
        Metrics(store, emf=False),
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_each_log_line_carries_its_message_correlation_id() -> None:
    with captured_logs("DEBUG") as lines:  # the lines per payment are DEBUG
        handle_batch(
            "payments",
            event(
                record("m1", payment(1, request_id="r-body")),  # the body says it
                record("m2", payment(2), request_id="r-attr"),  # only the attribute says it
                record("bad", "[]", request_id="r-bad"),  # unreadable body: the attribute still says it
            ),
            service(FakePaymentLedger()).store_batch,
            Metrics(None, emf=False),
        )
    ids = {line.get("message_id"): line.get("correlation_id") for line in lines if line.get("message_id")}
    assert ids == {"m1": "r-body", "m2": "r-attr", "bad": "r-bad"}
    batch_line = next(line for line in lines if line["message"] == "payment batch stored")
    assert "correlation_id" not in batch_line  # a batch has no single request
    assert batch_line["level"] == "INFO" and len(batch_line["payment_ids"]) == 2  # INFO still names each payment
    assert all(line["level"] == "DEBUG" for line in lines if line["message"] == "payment stored")


def test_both_workers_answer_through_the_same_helper() -> None:
    seen: list[tuple[list[tuple[str, str]], dict[str, str]]] = []

    def step(messages: Any, request_ids: Any) -> list[str]:
        seen.append((list(messages), dict(request_ids)))
        return ["m2"]

    answer = handle_batch("orders", event(record("m1", "a", "r1"), record("m2", "b")), step, Metrics(None, emf=False))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert seen == [([("m1", "a"), ("m2", "b")], {"m1": "r1"})]


def test_the_lag_is_each_message_s_age_in_seconds_and_never_negative() -> None:
    store = FakeMetricStore()
    now_ms = int(time.time() * 1000)
    handle_batch(
        "orders",
        event(record("old", "a", sent_ms=now_ms - 1_000_500), record("skewed", "b", sent_ms=now_ms + 60_000)),
        lambda messages, request_ids: [],
        Metrics(store, emf=False),
    )
    lag = store.fields['surge_worker_lag_seconds_sum{queue="orders"}']
    assert 1000.5 <= lag < 1001.5  # 1000.5 s old, plus the test's own time; the clock-skewed one counts 0, not less
    assert store.fields['surge_worker_lag_seconds_bucket{le="0.05",queue="orders"}'] == 1


@pytest.mark.parametrize(("size", "failed"), [(2, 1), (3, 2), (3, 3), (3, 0)])
def test_the_stored_and_failed_counts_add_up_to_the_batch(size: int, failed: int) -> None:
    store = FakeMetricStore()
    mids = [f"m{n}" for n in range(size)]
    handle_batch(
        "orders",
        event(*(record(mid, "x") for mid in mids)),
        lambda messages, request_ids: mids[:failed],
        Metrics(store, emf=False),
    )
    counts = {
        outcome: store.fields.get(f'surge_worker_messages_total{{outcome="{outcome}",queue="orders"}}')
        for outcome in ("stored", "failed")
    }
    assert counts == {"stored": (size - failed) or None, "failed": failed or None}  # no zero series
