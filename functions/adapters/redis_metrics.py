"""Metric counters in one Redis hash (``<prefix>metrics``): every process adds to the same fields."""

from __future__ import annotations

from collections.abc import Mapping

import redis

from functions.errors import DependencyDown


def metrics_key(prefix: str) -> str:
    """The one hash holding every metric field (the payment Lua call adds to it too)."""
    return f"{prefix}metrics"


class RedisMetricStore:
    """``client`` is a live Redis client.

    >>> store = RedisMetricStore(client, prefix)
    >>> store.add({'surge_requests_rejected_total{code="bad_json",route="/payment"}': 1})
    >>> store.read()
    {'surge_requests_rejected_total{code="bad_json",route="/payment"}': 1.0}
    """

    def __init__(self, client: redis.Redis, prefix: str):
        self._client = client
        self.key = metrics_key(prefix)

    def add(self, fields: Mapping[str, float]) -> None:
        """All increments in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for name, value in fields.items():
            pipe.hincrbyfloat(self.key, name, value)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    def read(self) -> dict[str, float]:
        try:
            raw = self._client.hgetall(self.key)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return {str(k): float(v) for k, v in raw.items()}
