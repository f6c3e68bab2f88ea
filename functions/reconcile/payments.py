"""Rebuild payment statistics in Redis from MySQL and report the drift corrected.

While messages are still in the queue, MySQL lags Redis by design, so only minutes
Redis has lost entirely are rebuilt; once the queue is drained every minute is
compared and any that differs is replaced.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from functions.ports import PaymentCounters, PaymentLedger
from functions.statistics.model import Aggregate, SecondBucket

SETTLE_SECONDS = 30  # a payment accepted this long ago has reached SQS, if it ever will


def reconcile_payment_statistics(
    counters: PaymentCounters, ledger: PaymentLedger, now_s: int, window_seconds: int, queue_drained: bool
) -> dict[str, Any]:
    last = now_s - SETTLE_SECONDS
    first = last - window_seconds + 1
    truth: dict[tuple[str, int], list[SecondBucket]] = defaultdict(list)
    for bucket in ledger.seconds(first, last):
        truth[(bucket.currency, bucket.second // 60)].append(bucket)
    cached = counters.minute_aggregates(first, last)
    whole_minutes = range(-(-first // 60), (last + 1) // 60)
    drift = []
    for cur, minute in sorted(set(truth) | set(cached)):
        if minute not in whole_minutes:
            continue
        expected = Aggregate()
        for bucket in truth.get((cur, minute), []):
            expected = expected.merge(bucket.aggregate)
        actual = cached.get((cur, minute), Aggregate())
        if actual == expected or (not queue_drained and actual.count):
            continue
        counters.replace_seconds(cur, minute, truth.get((cur, minute), []))
        drift.append(
            {
                "currency": cur,
                "minute": minute * 60,
                "redis": {"count": actual.count, "total_cents": actual.total_cents},
                "mysql": {"count": expected.count, "total_cents": expected.total_cents},
            }
        )
    return {"minutes_checked": len(whole_minutes), "minutes_corrected": len(drift), "drift": drift}
