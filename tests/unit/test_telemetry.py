"""Metric increments, Prometheus rendering and the per-process queue depth cache (no services)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from functions.statistics.queues import QueueDepths
from functions.statistics.window import Window
from functions.telemetry.catalog import FAMILIES
from functions.telemetry.metrics import LATENCY_BUCKETS_S, Increments, Metrics, bucket_bound, series_name
from functions.telemetry.prometheus import parse_series, render
from tests.fakes import FakeMetricStore, FakeQueue

REPO = Path(__file__).resolve().parents[2]


def test_a_histogram_observation_touches_its_bucket_count_and_sum_only() -> None:
    usage = Increments().observe("lat_seconds", 0.003, LATENCY_BUCKETS_S, queue="q")
    assert usage.fields == {
        'lat_seconds_bucket{le="0.005",queue="q"}': 1,
        'lat_seconds_count{queue="q"}': 1,
        'lat_seconds_sum{queue="q"}': 0.003,
    }


def test_increments_of_the_same_series_add_up() -> None:
    usage = Increments().count("a_total", route="/x").count("a_total", 2, route="/x").count("a_total", route="/y")
    assert usage.fields == {'a_total{route="/x"}': 3, 'a_total{route="/y"}': 1}
    assert [e[2] for e in usage.emf] == [1, 2, 1]


def test_bucket_bounds_are_inclusive_and_overflow_to_inf() -> None:
    assert bucket_bound(0.001, LATENCY_BUCKETS_S) == "0.001"
    assert bucket_bound(0.0011, LATENCY_BUCKETS_S) == "0.002"
    assert bucket_bound(2.5, LATENCY_BUCKETS_S) == "2.5"
    assert bucket_bound(2.6, LATENCY_BUCKETS_S) == "+Inf"
    assert bucket_bound(7, (1, 5, 10)) == "10"


def test_label_values_are_escaped_and_parsed_back() -> None:
    series = series_name("x_total", {"route": 'a"b\\c'})
    assert series == 'x_total{route="a\\"b\\\\c"}'
    assert parse_series(series) == ("x_total", {"route": 'a"b\\c'})


def _scrape() -> str:
    fields: dict[str, float] = {}
    for value in (0.0005, 0.003, 0.004, 9.0):
        for key, inc in Increments().observe("surge_enqueue_latency_seconds", value, LATENCY_BUCKETS_S).fields.items():
            fields[key] = fields.get(key, 0) + inc
    fields['surge_payments_accepted_total{currency="EUR"}'] = 4
    fields['surge_requests_rejected_total{code="rate_limited",route="/payment",status="429"}'] = 2
    return render(fields, {'surge_queue_messages{queue="q",state="visible"}': 7})


def test_metrics_parse_with_prometheus_clients_parser_with_help_type_and_every_bucket() -> None:
    families = {f.name: f for f in text_string_to_metric_families(_scrape())}
    assert {f.type for f in families.values()} == {"counter", "histogram", "gauge"}
    for name, family in families.items():
        assert family.documentation == FAMILIES[f"{name}_total" if family.type == "counter" else name].help
    latency = families["surge_enqueue_latency_seconds"]
    buckets = [(s.labels["le"], s.value) for s in latency.samples if s.name.endswith("_bucket")]
    # every declared bound, observed or not, cumulative, then +Inf
    assert [float(le) for le, _ in buckets] == [*LATENCY_BUCKETS_S, float("inf")]
    assert dict(buckets)["0.001"] == 1 and dict(buckets)["0.005"] == 3 and dict(buckets)["1"] == 3
    assert dict(buckets)["+Inf"] == 4
    samples = {s.name: s.value for s in latency.samples if not s.labels.get("le")}
    assert samples["surge_enqueue_latency_seconds_count"] == 4
    assert round(samples["surge_enqueue_latency_seconds_sum"], 4) == 9.0075
    accepted = families["surge_payments_accepted"].samples[0]
    assert (accepted.name, accepted.labels, accepted.value) == ("surge_payments_accepted_total", {"currency": "EUR"}, 4)
    assert families["surge_queue_messages"].samples[0].value == 7


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_accepts_the_metrics() -> None:
    result = subprocess.run(["promtool", "check", "metrics"], input=_scrape(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == "", "no lint warnings (help, units, counter names)"


def test_every_metric_the_code_records_is_in_the_catalogue() -> None:
    recorded = set()
    for path in (REPO / "functions").rglob("*.py"):
        recorded |= set(re.findall(r'\.(?:count|observe|gauge)\(\s*"(surge_[a-z_]+)"', path.read_text()))
    recorded.add("surge_queue_messages")  # named in functions/statistics/queues.py
    assert recorded and recorded <= FAMILIES.keys(), recorded - FAMILIES.keys()


def test_queue_depths_are_read_once_per_ttl_for_each_queue_and_its_dlq() -> None:
    now = [100.0]
    queue = FakeQueue()
    depths = QueueDepths(queue, lambda: ["pay"], ttl=1.0, clock=lambda: now[0])
    first: dict[str, Any] = depths.section(Window(0, 60))
    assert set(first) == {"pay", "pay-dlq"} and queue.depth_reads == 2
    queue.in_flight["pay"] = 3
    now[0] += 0.9
    assert depths.snapshot() is first and queue.depth_reads == 2
    now[0] += 0.2
    assert depths.snapshot() is first  # stale: answered at once, refreshed in the background
    depths.wait_refreshed()
    assert depths.snapshot()["pay"]["in_flight"] == 3 and queue.depth_reads == 4


def test_a_queue_that_cannot_be_read_is_reported_not_raised() -> None:
    queue = FakeQueue()
    queue.send("pay", "{}")
    queue.in_flight["pay"] = 1
    queue.unreachable.add("pay-dlq")
    depths = QueueDepths(queue, lambda: ["pay"])
    assert depths.snapshot()["pay-dlq"] == {"error": "sqs unavailable"}
    assert depths.gauges() == {
        'surge_queue_messages{queue="pay",state="visible"}': 1,
        'surge_queue_messages{queue="pay",state="in_flight"}': 1,
    }


def test_correlation_ids_of_concurrent_threads_do_not_mix() -> None:
    import io
    import json
    import logging
    import threading

    from functions.observability import logger, set_correlation_id

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("INFO")
    barrier = threading.Barrier(2)

    def request(rid: str) -> None:
        set_correlation_id(rid)
        barrier.wait()  # both ids are set before either logs
        logger.info("work", extra={"mine": rid})
        set_correlation_id(None)
        logger.info("done", extra={"mine": rid})

    try:
        threads = [threading.Thread(target=request, args=(rid,)) for rid in ("r-1", "r-2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logger.setLevel(level)
        logger._logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(line["correlation_id"] for line in lines if line["message"] == "work") == ["r-1", "r-2"]
    assert all(line["correlation_id"] == line["mine"] for line in lines if line["message"] == "work")
    assert all("correlation_id" not in line for line in lines if line["message"] == "done")


def test_on_lambda_metrics_are_printed_as_cloudwatch_emf(capsys: Any) -> None:
    import json

    from functions.statistics.queues import depth_gauges
    from functions.telemetry.metrics import Metrics

    metrics = Metrics(store=None, emf=True)
    usage = Increments().count("surge_payments_accepted_total", currency="EUR")
    usage.observe("surge_enqueue_latency_seconds", 0.002, LATENCY_BUCKETS_S)
    assert metrics.fold(usage) == {}  # nothing for Redis: it went to EMF
    metrics.record(depth_gauges({"surge-payments-dlq": {"visible": 4, "in_flight": 0}}))
    metrics.flush()
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emitted: dict[str, dict[str, Any]] = {}
    for blob in blobs:
        directive = blob["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "Surge"
        for metric in directive["Metrics"]:
            emitted.setdefault(metric["Name"], {})[metric["Unit"]] = blob
    assert emitted["surge_payments_accepted_total"]["Count"]["currency"] == "EUR"
    assert emitted["surge_enqueue_latency_seconds"]["Seconds"]["surge_enqueue_latency_seconds"] in (0.002, [0.002])
    dlq = [b for b in blobs if b.get("queue") == "surge-payments-dlq" and b.get("state") == "visible"]
    assert dlq and dlq[0]["surge_queue_messages"] in (4, [4])


def test_batch_usage_measures_each_message_age_from_its_sent_timestamp() -> None:
    from chalice.app import SQSRecord

    from functions.workers.batch import batch_usage, request_id_attribute

    now_ms = 1_800_000_000_000
    records = [
        SQSRecord(
            {
                "messageId": f"m{n}",
                "receiptHandle": f"h{n}",
                "body": "{}",
                "attributes": {"SentTimestamp": str(now_ms - age_ms)},
                "messageAttributes": {"request_id": {"stringValue": f"r{n}", "dataType": "String"}},
            },
            None,
        )
        for n, age_ms in enumerate((1500, 40, 400_000))
    ]
    usage = batch_usage("orders", records, failed=1, now_ms=now_ms)
    assert usage.fields['surge_worker_batch_size_bucket{le="5",queue="orders"}'] == 1
    assert usage.fields['surge_worker_lag_seconds_bucket{le="2.5",queue="orders"}'] == 1
    assert usage.fields['surge_worker_lag_seconds_bucket{le="0.05",queue="orders"}'] == 1
    assert usage.fields['surge_worker_lag_seconds_bucket{le="+Inf",queue="orders"}'] == 1
    assert round(usage.fields['surge_worker_lag_seconds_sum{queue="orders"}'], 3) == 401.54
    assert usage.fields['surge_worker_messages_total{outcome="stored",queue="orders"}'] == 2
    assert usage.fields['surge_worker_messages_total{outcome="failed",queue="orders"}'] == 1
    assert [request_id_attribute(r) for r in records] == ["r0", "r1", "r2"]


def test_a_buffered_process_writes_its_increments_together_and_keeps_them_through_an_outage() -> None:
    store = FakeMetricStore()
    metrics = Metrics(store, emf=False, buffer_seconds=3600)  # the flusher thread will not come round here
    rejected = Increments().count("surge_requests_rejected_total", route="/checkout", code="out_of_stock", status="409")
    for _ in range(3):
        metrics.record(rejected)
    assert store.calls == 0, "a refused request makes no Redis call of its own"
    store.down = True
    metrics.flush_buffered()  # Redis down: nothing is lost
    store.down = False
    metrics.record(rejected)
    metrics.flush_buffered()
    assert store.calls == 1
    assert store.fields == {next(iter(rejected.fields)): 4}


def test_a_buffered_process_keeps_the_hot_paths_increments_out_of_its_redis_call() -> None:
    usage = Increments().count("surge_payments_accepted_total", currency="EUR")
    usage.observe("surge_enqueue_latency_seconds", 0.002, LATENCY_BUCKETS_S)
    store = FakeMetricStore()
    buffered = Metrics(store, emf=False, buffer_seconds=3600)
    assert buffered.fold(usage) == {}  # nothing rides in the payment's Lua call
    assert buffered.fold(usage) == {}
    buffered.flush_buffered()  # the next write of the buffer carries them, added up
    assert store.calls == 1
    assert store.fields == {name: 2 * value for name, value in usage.fields.items()}
    unbuffered = Metrics(FakeMetricStore(), emf=False)  # a Lambda or a test: in the call it makes anyway
    assert unbuffered.fold(usage) == usage.fields


def test_the_buffer_is_written_by_its_thread_every_buffer_seconds() -> None:
    store = FakeMetricStore()
    metrics = Metrics(store, emf=False, buffer_seconds=0.01)
    metrics.record(Increments().count("surge_requests_unavailable_total", route="/payment"))
    deadline = time.monotonic() + 5
    while not store.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.fields == {'surge_requests_unavailable_total{route="/payment"}': 1}
