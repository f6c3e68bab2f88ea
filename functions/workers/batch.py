"""What every SQS worker shares: one helper runs a batch through a service and answers
with a Lambda partial batch response (``ReportBatchItemFailures``), recording the batch
metrics; correlation ids come from each message's ``request_id`` attribute."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from chalice.app import SQSEvent, SQSRecord

from functions.telemetry.metrics import BATCH_BUCKETS, LAG_BUCKETS_S, Increments, Metrics

# (message id, body) pairs and message id -> request id; returns the ids that failed
BatchStep = Callable[[Sequence[tuple[str, str]], Mapping[str, str]], list[str]]


def handle_batch(kind: str, event: SQSEvent, step: BatchStep, metrics: Metrics) -> dict[str, Any]:
    """Run ``event``'s messages through ``step`` (one service method); ``kind`` labels the metrics."""
    records = list(event)
    request_ids = {message_id(r): rid for r in records if (rid := request_id_attribute(r))}
    failed = step([(message_id(r), r.body) for r in records], request_ids)
    metrics.record(batch_usage(kind, records, len(failed), time.time() * 1000))
    metrics.flush()
    return batch_response(failed)


def batch_response(failed_message_ids: Iterable[str]) -> dict[str, Any]:
    """Only the listed messages come back; SQS moves one to the DLQ after N receives."""
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed_message_ids]}


def message_id(record: Any) -> str:
    return str(record.to_dict()["messageId"])


def request_id_attribute(record: SQSRecord) -> str | None:
    """The gateway's request id, sent as the ``request_id`` message attribute (the correlation id)."""
    attribute = record.to_dict().get("messageAttributes", {}).get("request_id") or {}
    value = attribute.get("stringValue")
    return str(value) if value else None


def batch_usage(queue: str, records: Sequence[SQSRecord], failed: int, now_ms: float) -> Increments:
    """Metrics of one handled batch: its size, each message's lag (its age since SQS took
    it, from ``SentTimestamp``) and how many were stored or failed. ``queue`` is the kind
    (``payments``, ``orders``…), a low-cardinality label.
    """
    usage = Increments().observe("surge_worker_batch_size", len(records), BATCH_BUCKETS, queue=queue)
    for record in records:
        sent = record.to_dict().get("attributes", {}).get("SentTimestamp")
        if sent:
            lag = max(0.0, (now_ms - int(sent)) / 1000)
            usage.observe("surge_worker_lag_seconds", lag, LAG_BUCKETS_S, queue=queue)
    if len(records) - failed:
        usage.count("surge_worker_messages_total", len(records) - failed, queue=queue, outcome="stored")
    if failed:
        usage.count("surge_worker_messages_total", failed, queue=queue, outcome="failed")
    return usage
