"""Payments' hot state in Redis: in-flight markers and per-second statistics buckets.

Each currency has one hash per minute (``<prefix>stats:pay:<CUR>:<minute>``) holding
per-second fields (``c:<s>``, ``s:<s>``, ``mn:<s>``, ``mx:<s>``) and the minute totals
(``c``, ``s``, ``mn``, ``mx``). A 20-minute window is read in one Lua call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis

from functions.adapters.redis_client import redis_down, script
from functions.adapters.redis_metrics import metrics_key
from functions.errors import DependencyDown
from functions.payments.model import Payment
from functions.statistics.model import Aggregate, SecondBucket


class RedisPaymentCounters:
    def __init__(self, client: redis.Redis, prefix: str, marker_ttl: int, window_seconds: int):
        self._client = client
        self._prefix = prefix
        self._metrics_key = metrics_key(prefix)
        self._marker_ttl = marker_ttl
        # keep a minute for as long as any window can still reach it, plus slack
        self._stats_ttl = window_seconds + 300
        self._record = script(client, "record_payment")
        self.bucket_prefix = f"{prefix}stats:pay:"  # RedisStatistics reads the buckets under it

    def _marker_key(self, payment_id: str) -> str:
        return f"{self._prefix}pay:{payment_id}"

    def _minute_key(self, currency: str, minute: int) -> str:
        return f"{self.bucket_prefix}{currency}:{minute}"

    @property
    def series_key(self) -> str:
        """The set of currencies that have buckets."""
        return f"{self.bucket_prefix}currencies"

    def record(self, payment: Payment, metrics: Mapping[str, float] | None = None) -> None:
        """Marker + statistics of ``payment`` and the ``metrics`` increments, in one Lua call."""
        self.record_many([payment], metrics)

    def record_many(self, payments: Sequence[Payment], metrics: Mapping[str, float] | None = None) -> None:
        """Markers + statistics of ``payments`` and the ``metrics`` increments, in one Lua call."""
        keys = [self.series_key, self._metrics_key]
        args: list[str | int] = [self._marker_ttl, self._stats_ttl, len(metrics or {})]
        args += [item for field, value in (metrics or {}).items() for item in (field, f"{value:.6f}")]
        for payment in payments:
            second = payment.accepted_ms // 1000
            keys += [self._marker_key(payment.id), self._minute_key(payment.currency, second // 60)]
            args += [payment.amount_cents, payment.currency, payment.accepted_ms, second % 60]
        try:
            self._record(keys=keys, args=args)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    def marker(self, payment_id: str) -> dict[str, Any] | None:
        try:
            data = self._client.hgetall(self._marker_key(payment_id))
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return data or None  # type: ignore[return-value]  # decode_responses=True: replies are str, redis-py types them bytes | str

    def minute_aggregates(self, first_second: int, last_second: int) -> dict[tuple[str, int], Aggregate]:
        """Per (currency, minute) totals for whole minutes within the span; for reconcile."""
        minutes = range(-(-first_second // 60), (last_second + 1) // 60)
        with redis_down():
            currencies: set[str] = self._client.smembers(self.series_key)  # type: ignore[assignment]  # decode_responses=True
            pipe = self._client.pipeline(transaction=False)
            keys = [(cur, m) for cur in sorted(currencies) for m in minutes]
            for cur, m in keys:
                pipe.hmget(self._minute_key(cur, m), "c", "s", "mn", "mx")
            rows = pipe.execute()
        result: dict[tuple[str, int], Aggregate] = {}
        for key, (c, s, mn, mx) in zip(keys, rows, strict=True):
            if c is not None and int(c) > 0:
                result[key] = Aggregate(int(c), int(s), int(mn), int(mx))
        return result

    def replace_seconds(self, currency: str, minute: int, buckets: Sequence[SecondBucket]) -> None:
        """Overwrite one minute of one currency with ``buckets`` (from MySQL), atomically."""
        key = self._minute_key(currency, minute)
        fields: dict[str, int] = {}
        total = Aggregate()
        for bucket in buckets:
            o = bucket.second - minute * 60
            agg = bucket.aggregate
            fields.update(
                {
                    f"c:{o}": agg.count,
                    f"s:{o}": agg.total_cents,
                    f"mn:{o}": agg.min_cents or 0,
                    f"mx:{o}": agg.max_cents or 0,
                }
            )
            total = total.merge(agg)
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(key)
        if total.count:
            fields.update(
                {"c": total.count, "s": total.total_cents, "mn": total.min_cents or 0, "mx": total.max_cents or 0}
            )
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]  # str keys are fine; Mapping's key type is invariant
            pipe.expire(key, self._stats_ttl)
            pipe.sadd(self.series_key, currency)
        with redis_down():
            pipe.execute()
