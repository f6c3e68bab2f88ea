"""This deployment's Redis keys as a whole (everything under its prefix), and the last
reconcile report."""

from __future__ import annotations

import json
from typing import Any

import redis

from functions.adapters.redis_client import redis_down

RECONCILE_REPORT_TTL = 86400


def delete_redis_keys(client: redis.Redis, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN in pages: never blocks Redis like KEYS)."""
    deleted = 0
    batch: list[str] = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) == 500:
            deleted += int(client.delete(*batch))
            batch = []
    if batch:
        deleted += int(client.delete(*batch))
    return deleted


class RedisKeyspace:
    def __init__(self, client: redis.Redis, prefix: str):
        self._client = client
        self._prefix = prefix

    def ping(self) -> None:
        with redis_down():
            self._client.ping()

    def delete_all(self) -> int:
        """Delete every key of this deployment; how many there were."""
        with redis_down():
            return delete_redis_keys(self._client, self._prefix)


class RedisReconcileLog:
    """The last reconcile report, kept a day for the statistics."""

    def __init__(self, client: redis.Redis, prefix: str):
        self._client = client
        self._key = f"{prefix}reconcile:last"

    def save(self, report: dict[str, Any]) -> None:
        with redis_down():
            self._client.set(self._key, json.dumps(report), ex=RECONCILE_REPORT_TTL)

    def last(self) -> dict[str, Any] | None:
        with redis_down():
            raw = self._client.get(self._key)
        return json.loads(raw) if raw else None
