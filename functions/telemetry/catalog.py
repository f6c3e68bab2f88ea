"""Every metric Surge exports: its type, help text and (for histograms) bucket bounds.

``GET /metrics`` renders from this catalogue, so each family carries ``# HELP`` and
``# TYPE`` and each histogram every one of its buckets, whether observed yet or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.telemetry.metrics import BATCH_BUCKETS, LAG_BUCKETS_S, LATENCY_BUCKETS_S


@dataclass(frozen=True)
class Family:
    kind: str  # counter | histogram | gauge
    help: str
    buckets: tuple[float, ...] = ()


FAMILIES: dict[str, Family] = {
    "surge_payments_accepted_total": Family("counter", "Payments accepted (202) by the gateway, by currency."),
    "surge_requests_rejected_total": Family(
        "counter", "Requests refused with a 4xx, by route, error code and status (400, 404, 409, 429...)."
    ),
    "surge_requests_unavailable_total": Family(
        "counter", "Requests answered 503 because a dependency could not take them, by route."
    ),
    "surge_requests_failed_total": Family("counter", "Requests answered with another 5xx, by route and status."),
    "surge_enqueue_latency_seconds": Family(
        "histogram", "Gateway time to put an accepted payment in SQS (including the batching wait).", LATENCY_BUCKETS_S
    ),
    "surge_worker_batch_size": Family("histogram", "Messages per SQS batch handled by a worker.", BATCH_BUCKETS),
    "surge_worker_lag_seconds": Family(
        "histogram", "Age of a message when a worker handles it (from SQS SentTimestamp).", LAG_BUCKETS_S
    ),
    "surge_worker_messages_total": Family(
        "counter", "Messages handled by workers, by queue and outcome (stored, failed)."
    ),
    "surge_queue_messages": Family(
        "gauge", "Messages in each queue and its DLQ, by state (visible, in_flight), read from SQS at scrape."
    ),
}
