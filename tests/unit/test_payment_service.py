"""PaymentService on in-memory fakes of its ports: accept (202 only once the message is
queued), idempotency keys, status, and the worker's batch step."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.batching import coalescing
from functions.errors import DependencyDown, IdempotencyKeyReused, NotFound, ValidationFailed
from functions.idempotency import id_for_key
from functions.ids import new_id
from functions.payments.model import Payment, PaymentRequest
from functions.payments.service import PaymentService
from functions.telemetry.metrics import Metrics
from tests.fakes import (
    FakeIdempotency,
    FakeMetricStore,
    FakePaymentCounters,
    FakePaymentLedger,
    FakeQueue,
)
from tests.logs import captured_logs

NOW_MS = 1_767_225_600_123
QUEUE = "t-payments"


class World:
    def __init__(self) -> None:
        self.queue = FakeQueue()
        self.counters = FakePaymentCounters()
        self.ledger = FakePaymentLedger(clock_ms=lambda: NOW_MS + 50)
        self.idempotency = FakeIdempotency()
        self.metrics = Metrics(FakeMetricStore(), emf=False)
        self.service = PaymentService(
            self.queue,
            self.counters,
            self.ledger,
            self.idempotency,
            QUEUE,
            clock_ms=lambda: NOW_MS,
            metrics=self.metrics,
        )

    def queued(self) -> list[Payment]:
        return [Payment.from_message(body) for body in self.queue.bodies(QUEUE)]


@pytest.fixture
def world() -> World:
    return World()


def test_an_accepted_payment_is_queued_with_its_request_id_then_counted(world: World) -> None:
    body = world.service.accept(PaymentRequest(1250, "EUR"), request_id="r-1")
    assert body == {"id": body["id"], "status": "accepted", "amount": "12.50", "currency": "EUR"}
    [payment] = world.queued()
    assert (payment.id, payment.amount_cents, payment.accepted_ms, payment.request_id) == (
        body["id"],
        1250,
        NOW_MS,
        "r-1",
    )
    assert world.queue.sent[0].attributes == {"request_id": "r-1"}
    assert world.counters.window(NOW_MS // 1000, NOW_MS // 1000)["EUR"].total_cents == 1250
    # the accepted counter rides in the counters' own call: no second round trip for metrics
    assert world.counters.metric_fields['surge_payments_accepted_total{currency="EUR"}'] == 1
    assert world.metrics.store is not None and world.metrics.store.read() == {}


def test_when_sqs_refuses_the_client_gets_an_error_and_nothing_is_counted(world: World) -> None:
    world.queue.down = True
    with pytest.raises(DependencyDown):
        world.service.accept(PaymentRequest(1250, "EUR"), request_id="r-1")
    assert world.counters.seconds == {} and world.counters.markers == {}


def test_with_redis_down_a_payment_without_key_is_still_accepted(world: World) -> None:
    world.counters.down = True
    body = world.service.accept(PaymentRequest(700, "USD"), request_id="r-1")
    assert body["status"] == "accepted"
    assert [p.id for p in world.queued()] == [body["id"]]


def test_the_same_key_and_body_is_answered_once_and_queued_once(world: World) -> None:
    first = world.service.accept(PaymentRequest(3000, "USD"), request_id="r-1", idempotency_key="invoice-42")
    again = world.service.accept(PaymentRequest(3000, "USD"), request_id="r-2", idempotency_key="invoice-42")
    assert again == first and first["id"] == id_for_key("payment", "invoice-42")
    assert len(world.queued()) == 1
    assert world.counters.window(0, NOW_MS)["USD"].count == 1
    with pytest.raises(IdempotencyKeyReused):
        world.service.accept(PaymentRequest(3100, "USD"), request_id="r-3", idempotency_key="invoice-42")
    with pytest.raises(ValidationFailed):
        world.service.accept(PaymentRequest(3000, "USD"), request_id="r-4", idempotency_key="bad\nkey")
    assert len(world.queued()) == 1


def test_a_retry_after_sqs_failed_gets_the_same_id(world: World) -> None:
    world.queue.down = True
    with pytest.raises(DependencyDown):
        world.service.accept(PaymentRequest(500, "EUR"), request_id="r-1", idempotency_key="k")
    world.queue.down = False
    body = world.service.accept(PaymentRequest(500, "EUR"), request_id="r-2", idempotency_key="k")
    assert body["id"] == id_for_key("payment", "k") and len(world.queued()) == 1


def test_status_is_stored_from_mysql_else_accepted_from_redis_else_not_found(world: World) -> None:
    accepted = world.service.accept(PaymentRequest(750, "EUR"), request_id="r-1")
    assert world.service.status(accepted["id"]) == {
        "id": accepted["id"],
        "status": "accepted",
        "amount": "7.50",
        "currency": "EUR",
        "accepted_at": "2026-01-01T00:00:00.123Z",
    }
    assert world.service.store_batch([("m1", world.queue.bodies(QUEUE)[0])]) == []
    stored = world.service.status(accepted["id"])
    assert stored["status"] == "stored" and stored["stored_at"] == "2026-01-01T00:00:00.173Z"
    with pytest.raises(NotFound):
        world.service.status(new_id(NOW_MS))
    with pytest.raises(NotFound):
        world.service.status("not-an-id")


def test_direct_path_stores_in_mysql_within_the_request(world: World) -> None:
    body = world.service.store_directly(PaymentRequest(990, "EUR"), request_id="r-1")
    assert body["status"] == "stored" and body["id"] in world.ledger.rows
    assert world.queue.sent == []


def _message(n: int, request_id: str | None = None) -> str:
    return Payment(new_id(NOW_MS + n), 100 + n, "EUR", NOW_MS + n, request_id).to_message()


def test_a_batch_is_stored_in_one_call_and_a_malformed_message_fails_alone(world: World) -> None:
    messages = [("m1", _message(1)), ("bad", "{not json"), ("m2", _message(2))]
    assert world.service.store_batch(messages) == ["bad"]
    assert len(world.ledger.batches) == 1 and len(world.ledger.rows) == 2


def test_a_redelivered_batch_is_stored_once(world: World) -> None:
    messages = [("m1", _message(1)), ("m2", _message(2))]
    assert world.service.store_batch(messages) == []
    assert world.service.store_batch(messages) == []
    assert len(world.ledger.rows) == 2


def test_mysql_down_sends_the_whole_batch_back(world: World) -> None:
    world.ledger.down = True
    assert world.service.store_batch([("m1", _message(1)), ("m2", _message(2)), ("bad", "[]")]) == ["bad", "m1", "m2"]


def test_a_row_mysql_refuses_fails_alone_and_its_neighbours_are_stored(world: World) -> None:
    messages = [("m1", _message(1)), ("m2", _message(2)), ("m3", _message(3))]
    world.ledger.refused.add(Payment.from_message(messages[1][1]).id)
    assert world.service.store_batch(messages) == ["m2"]
    assert sorted(p.amount_cents for p, _ in world.ledger.rows.values()) == [101, 103]


def test_the_request_id_is_never_taken_by_position(world: World) -> None:
    with pytest.raises(TypeError):
        world.service.accept(PaymentRequest(100, "EUR"), "r-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        world.service.store_directly(PaymentRequest(100, "EUR"), "r-1")  # type: ignore[call-arg]


def test_without_a_clock_the_payment_is_accepted_now() -> None:
    queue = FakeQueue()
    service = PaymentService(queue, FakePaymentCounters(), FakePaymentLedger(), FakeIdempotency(), QUEUE)
    before = int(time.time() * 1000)
    service.accept(PaymentRequest(100, "EUR"), request_id="r-1")
    [payment] = [Payment.from_message(body) for body in queue.bodies(QUEUE)]
    assert before <= payment.accepted_ms <= int(time.time() * 1000)


def test_the_enqueue_latency_is_the_time_the_send_took(world: World) -> None:
    world.service.accept(PaymentRequest(100, "EUR"), request_id="r-1")
    assert 0 <= world.counters.metric_fields["surge_enqueue_latency_seconds_sum"] < 0.5


def test_the_direct_path_with_redis_down_still_stores_the_payment(world: World) -> None:
    world.counters.down = True
    body = world.service.store_directly(PaymentRequest(990, "EUR"), request_id="r-1")
    assert body["status"] == "stored" and body["id"] in world.ledger.rows


def test_a_bad_payment_id_is_not_found_naming_at_most_40_characters(world: World) -> None:
    with pytest.raises(NotFound) as raised:
        world.service.status("x" * 100)
    assert str(raised.value) == f"no payment with id {'x' * 40!r}"


def test_an_outage_fails_the_batch_at_once_without_trying_each_payment(world: World) -> None:
    world.ledger.down = True
    messages = [("m1", _message(1, "r-1")), ("m2", _message(2)), ("m3", _message(3))]
    with captured_logs("WARNING") as lines:
        assert world.service.store_batch(messages, {"m2": "r-attr"}) == ["m1", "m2", "m3"]
    assert len(world.ledger.batches) == 1
    ids = [line.get("correlation_id") for line in lines if line["message"] == "payment not stored; it will come back"]
    assert ids == ["r-1", "r-attr", None]  # each payment named, with its request id from the body or the attribute


def test_a_lone_payment_mysql_refuses_is_tried_once(world: World) -> None:
    [(mid, body)] = [("m1", _message(1))]
    world.ledger.refused.add(Payment.from_message(body).id)
    assert world.service.store_batch([(mid, body)]) == ["m1"]
    assert len(world.ledger.batches) == 1


def test_of_two_payments_the_one_mysql_refuses_fails_alone(world: World) -> None:
    messages = [("m1", _message(1)), ("m2", _message(2))]
    world.ledger.refused.add(Payment.from_message(messages[0][1]).id)
    assert world.service.store_batch(messages) == ["m1"]
    assert [p.amount_cents for p, _ in world.ledger.rows.values()] == [102]


class LedgerGoingAway(FakePaymentLedger):
    """MySQL goes away (a transient outage) at the ``at``-th store call."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def store(self, payments: Sequence[Payment]) -> int:
        if len(self.batches) + 1 == self.at:
            self.batches.append([p.id for p in payments])
            raise DependencyDown("mysql", ConnectionError("mysql went away"))
        return super().store(payments)


def test_mysql_going_away_while_storing_one_by_one_sends_the_rest_back() -> None:
    ledger = LedgerGoingAway(at=4)  # the batch, m1 (refused), m2 (stored), then MySQL goes away at m3
    service = PaymentService(FakeQueue(), FakePaymentCounters(), ledger, FakeIdempotency(), QUEUE)
    messages = [("m1", _message(1, "r-1")), ("m2", _message(2)), ("m3", _message(3)), ("m4", _message(4))]
    ledger.refused.add(Payment.from_message(messages[0][1]).id)
    with captured_logs("INFO") as lines:
        assert service.store_batch(messages, {"m2": "r-attr"}) == ["m1", "m3", "m4"]
    assert [p.amount_cents for p, _ in ledger.rows.values()] == [102]
    by_message = {line.get("message_id"): line.get("correlation_id") for line in lines if line.get("message_id")}
    assert by_message == {"m1": "r-1", "m2": "r-attr"}


def test_below_debug_each_stored_payment_still_gets_its_line(world: World) -> None:
    logging.addLevelName(5, "TRACE")  # finer than DEBUG: shows the DEBUG lines too
    with captured_logs("TRACE") as lines:
        world.service.store_batch([("m1", _message(1)), ("m2", _message(2))])
    assert [line["message_id"] for line in lines if line["message"] == "payment stored"] == ["m1", "m2"]


def _accept_together(service: PaymentService, cents: list[int]) -> list[dict[str, object] | Exception]:
    """Accept payments from concurrent requests, as a gateway's threads do."""

    def one(amount: int) -> dict[str, object] | Exception:
        try:
            return service.accept(PaymentRequest(amount, "EUR"), request_id=f"r-{amount}")
        except DependencyDown as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(cents)) as pool:
        return list(pool.map(one, cents))


def test_concurrent_payments_share_one_sqs_batch_and_one_redis_call_and_each_gets_its_own_answer() -> None:
    world = World()
    queue = FakeQueue()
    queue.refuses = lambda body, attributes: '"amount_cents":666,' in body
    # a window far longer than the test needs: the three requests land in one batch
    service = PaymentService(
        queue, world.counters, world.ledger, world.idempotency, QUEUE, metrics=world.metrics,
        batching=coalescing(500, 1, "sqs"),
    )  # fmt: skip
    answers = _accept_together(service, [100, 666, 300])
    assert queue.batch_sizes == [3]
    assert [a["amount"] for a in answers if isinstance(a, dict)] == ["1.00", "3.00"]
    assert isinstance(answers[1], DependencyDown), "the entry SQS refused fails alone: its client gets a 503"
    assert world.counters.record_calls == 1, "the batch is counted in one Redis round trip"
    assert sorted(int(m["amount_cents"]) for m in world.counters.markers.values()) == [100, 300]
    assert world.counters.metric_fields['surge_payments_accepted_total{currency="EUR"}'] == 2
    assert world.counters.metric_fields["surge_enqueue_latency_seconds_count"] == 2


def test_a_batch_redis_cannot_count_is_still_accepted() -> None:
    world = World()
    world.counters.down = True
    service = PaymentService(
        world.queue, world.counters, world.ledger, world.idempotency, QUEUE, batching=coalescing(500, 1, "sqs")
    )
    with captured_logs() as lines:
        answers = _accept_together(service, [100, 200])
    assert all(isinstance(a, dict) and a["status"] == "accepted" for a in answers)
    assert len(world.queued()) == 2
    [warning] = [line for line in lines if line["message"] == "payments accepted but not counted"]
    assert sorted(warning["payment_ids"]) == sorted(p.id for p in world.queued())
