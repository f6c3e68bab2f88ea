"""Observability against real Redis, MariaDB and SQS: the per-second series, the queues
section, /metrics, and one payment followed from its request to MySQL by its id."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from functions.adapters.redis_statistics import RedisStatistics
from functions.adapters.sqs import ensure_queues, sqs_client
from functions.bootstrap import build, use
from functions.observability import logger
from functions.payments.model import Payment
from functions.runtime.pollers import SqsPoller, mappings_of
from functions.telemetry.metrics import series_name
from functions.telemetry.prometheus import parse_series
from tests.fakes import FakeQueue

JSON = {"Content-Type": "application/json"}


def _post(client: Any, body: Any) -> Any:
    return client.http.post("/payment", headers=JSON, body=json.dumps(body) if not isinstance(body, bytes) else body)


def _metrics(client: Any) -> dict[str, float]:
    """``/metrics`` as Prometheus reads it (prometheus_client's own parser): series -> value."""
    response = client.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    values = {}
    for family in text_string_to_metric_families(response.body.decode()):
        assert family.documentation and family.type in ("counter", "gauge", "histogram"), family.name
        for sample in family.samples:
            values[series_name(sample.name, sample.labels)] = sample.value
    return values


def _metric(values: dict[str, float], name: str, **labels: str) -> float:
    return sum(v for s, v in values.items() if parse_series(s) == (name, labels))


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A function returning every JSON line the Powertools logger wrote so far, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)  # the very formatter of the real output
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        logger.setLevel(level)
        logger._logger.removeHandler(handler)


def test_second_counts_put_each_payment_in_its_second_across_minutes_and_currencies(surge_app: Any) -> None:
    counters = surge_app.counters
    minute = 29_000_000  # a fixed minute far from now: this run's keys only
    first, last = minute * 60 + 50, minute * 60 + 50 + 99  # 100 s: an edge, a whole minute, an edge
    placed = {first: 2, first + 9: 1, first + 10: 3, first + 40: 1, last: 4}
    n = 0
    for second, count in placed.items():
        for i in range(count):
            n += 1
            currency = "EUR" if i % 2 else "USD"
            counters.record(Payment(f"01J0000000000000000000{n:04d}", 100 + n, currency, second * 1000 + i))
    store = RedisStatistics(surge_app.redis, counters, surge_app.stock, "unused")
    counts = store.read(first, last, True, 5, 20).second_counts
    assert len(counts) == 100
    assert {first + i: c for i, c in enumerate(counts) if c} == placed
    # a narrower span cuts at the right seconds
    assert store.read(first + 10, first + 40, True, 5, 20).second_counts == [3] + [0] * 29 + [1]
    assert store.read(first, last, False, 5, 20).second_counts is None
    # one currency: only its payments (the even ones of each second are USD)
    usd = {second: (count + 1) // 2 for second, count in placed.items()}
    usd_counts = store.read(first, last, True, 5, 20, "USD").second_counts
    assert {first + i: c for i, c in enumerate(usd_counts or []) if c} == usd
    eur = {second: count // 2 for second, count in placed.items() if count // 2}
    eur_counts = store.read(first, last, True, 5, 20, "EUR").second_counts
    assert {first + i: c for i, c in enumerate(eur_counts or []) if c} == eur


def _park_in_dlq(settings: Any, count: int) -> str:
    """Put ``count`` messages straight into the payments DLQ (no worker ever reads it)."""
    dlq = f"{settings.queue_name('payments')}-dlq"
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    url = client.get_queue_url(QueueName=dlq)["QueueUrl"]
    for n in range(count):
        client.send_message(QueueUrl=url, MessageBody=f"parked {n}")
    return dlq


def test_statistics_series_and_queue_sections(client: Any, surge_app: Any) -> None:
    dlq = _park_in_dlq(surge_app.settings, 2)
    for amount in ("1.00", "2.00"):
        assert _post(client, {"amount": amount}).status_code == 202
    stats = client.http.get("/statistics?series=1").json_body
    series = stats["payments_per_second"]
    assert len(series["counts"]) == stats["window_seconds"] and sum(series["counts"]) == 2
    assert series["step_seconds"] == 1 and series["from"] == stats["from"]
    assert series["currency"] == stats["payments"]["currency"] == "EUR"
    usd = client.http.get("/statistics?series=1&currency=USD").json_body["payments_per_second"]
    assert usd["currency"] == "USD" and sum(usd["counts"]) == 0, "the series follows the chosen currency"
    payments_queue = surge_app.settings.queue_name("payments")
    # a worker of the session's stack may be taking the payments: only the shape is fixed there
    assert set(stats["queues"][payments_queue]) == {"visible", "in_flight"}
    assert stats["queues"][dlq] == {"visible": 2, "in_flight": 0}
    # without series=1 the answer stays as it was, plus the queues
    assert "payments_per_second" not in client.http.get("/statistics").json_body
    bad = client.http.get("/statistics?series=yes")
    assert bad.status_code == 400 and bad.json_body["field"] == "series"


class CountingRedis:
    """Counts round trips to Redis: single commands and pipelines."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.commands: list[str] = []
        self.pipelines = 0
        command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

        def counted_command(client: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(client, redis.client.Pipeline):
                self.commands.append(str(args[0]))
            return command(client, *args, **kwargs)

        def counted_pipeline(pipe: Any, *args: Any, **kwargs: Any) -> Any:
            self.pipelines += 1
            return pipeline(pipe, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "execute_command", counted_command)
        monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)

    def round_trips(self) -> int:
        return len(self.commands) + self.pipelines


def test_metrics_count_accepted_rejected_and_unavailable(
    client: Any, surge_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dlq = _park_in_dlq(surge_app.settings, 3)
    counting = CountingRedis(monkeypatch)
    assert _post(client, {"amount": "10.00"}).status_code == 202
    # accepting a payment is two Redis calls: the rate limiter's token bucket (it must decide
    # before the SQS send) and the payment script after it, which the metrics ride inside
    assert counting.commands == ["EVALSHA", "EVALSHA"] and counting.pipelines == 0
    assert _post(client, {"amount": "20.00", "currency": "USD"}).status_code == 202
    before = counting.round_trips()
    assert _post(client, b"{").status_code == 400
    assert counting.round_trips() - before == 2  # the rate limiter, then one pipeline for the refusal
    assert _post(client, {"amount": "-1"}).status_code == 400
    monkeypatch.undo()

    values = _metrics(client)
    assert _metric(values, "surge_payments_accepted_total", currency="EUR") == 1
    assert _metric(values, "surge_payments_accepted_total", currency="USD") == 1
    assert _metric(values, "surge_requests_rejected_total", route="/payment", code="invalid_json", status="400") == 1
    rejected = {s: v for s, v in values.items() if s.startswith("surge_requests_rejected_total")}
    assert sum(rejected.values()) == 2
    assert _metric(values, "surge_enqueue_latency_seconds_count") == 2
    assert _metric(values, "surge_enqueue_latency_seconds_bucket", le="+Inf") == 2
    assert _metric(values, "surge_enqueue_latency_seconds_sum") > 0
    assert _metric(values, "surge_queue_messages", queue=dlq, state="visible") == 3
    queue = surge_app.settings.queue_name("payments")
    assert f'surge_queue_messages{{queue="{queue}",state="in_flight"}}' in values

    down = FakeQueue()
    down.down = True
    use(build(surge_app.settings, queue=down))
    assert _post(client, {"amount": "5.00"}).status_code == 503
    use(surge_app.services)
    values = _metrics(client)
    assert _metric(values, "surge_requests_unavailable_total", route="/payment") == 1
    assert _metric(values, "surge_payments_accepted_total", currency="EUR") == 1


def test_one_payment_is_followed_from_request_to_mysql_by_its_id(
    client: Any, surge_app: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # a queue of this test's own, so no other worker of the session can take its messages
    settings = replace(surge_app.settings, queue_prefix=f"{surge_app.settings.queue_prefix}solo-")
    sqs = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    own = settings.queue_name("payments")
    ensure_queues(sqs, own, f"{own}-dlq", settings.max_receive_count, settings.visibility_timeout)
    use(build(settings))
    try:
        response = _post(client, {"amount": "42.17"})
        assert response.status_code == 202
        request_id, payment_id = response.headers["X-Request-Id"], response.json_body["id"]
        assert _post(client, {"amount": "1.00"}).status_code == 202  # another payment in the same batch

        # the worker, in-process: the real poller receives from SQS and calls the Lambda handler
        from app import app

        mapping = next(m for m in mappings_of(app) if m.name == "store_payments")
        poller = SqsPoller(sqs, replace(mapping, queue=own), threading.Event(), settings.aws_region, wait_seconds=1)
        handled = 0
        for _ in range(10):
            handled += poller.run_once()
            if handled >= 2:
                break
        assert handled == 2
    finally:
        use(surge_app.services)
        for name in (own, f"{own}-dlq"):
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])

    with surge_app.db.transaction() as cur:
        cur.execute("SELECT request_id FROM payments WHERE id = %s", (payment_id,))
        assert cur.fetchone() == (request_id,)
    values = _metrics(client)
    assert _metric(values, "surge_worker_batch_size_count", queue="payments") >= 1
    # >= : a worker of the session's stack may add its own batches to the same counters
    assert _metric(values, "surge_worker_lag_seconds_count", queue="payments") >= 2
    assert _metric(values, "surge_worker_messages_total", queue="payments", outcome="stored") >= 2

    lines = log_lines()
    mine = [line for line in lines if line.get("correlation_id") == request_id]
    messages = [line["message"] for line in mine]
    assert "payment accepted" in messages and "payment stored" in messages, lines
    assert all(line.get("payment_id") == payment_id for line in mine if line["message"].startswith("payment "))
    stored = next(line for line in mine if line["message"] == "payment stored")
    assert stored["level"] == "DEBUG" and stored["service"] == "surge" and stored["message_id"]
    # at INFO (the default) no line per payment; the batch line names the payment
    assert all(line["level"] == "DEBUG" for line in mine if line["message"].startswith("payment "))
    [batch] = [line for line in lines if payment_id in line.get("payment_ids", [])]
    assert batch["message"] == "payment batch stored" and batch["level"] == "INFO"
    # nothing of another request carries this id, and the batch line carries none
    other = [line for line in lines if line.get("payment_id") not in (None, payment_id)]
    assert other and all(line.get("correlation_id") != request_id for line in other)
    assert all("correlation_id" not in line for line in lines if line["message"] == "payment batch stored")
