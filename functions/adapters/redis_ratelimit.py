"""Per-client token buckets in Redis (``lua/rate_limit.lua``): one EVALSHA per request."""

from __future__ import annotations

import hashlib
import math

import redis

from functions.adapters.redis_client import script
from functions.errors import DependencyDown
from functions.ports import Decision


class RedisRateLimiter:
    """A token bucket per client in Redis; ``client`` is a live Redis client.

    >>> limiter = RedisRateLimiter(client, prefix, per_second=1, burst=2)
    >>> [limiter.take("key:abc") for _ in range(3)]  # doctest: +NORMALIZE_WHITESPACE
    [Decision(allowed=True, retry_after_seconds=0), Decision(allowed=True, retry_after_seconds=0),
     Decision(allowed=False, retry_after_seconds=1)]
    """

    def __init__(self, client: redis.Redis, prefix: str, per_second: float, burst: int):
        if per_second <= 0 or burst < 1:
            raise ValueError("rate limit needs per_second > 0 and burst >= 1")
        self._prefix = prefix
        self._per_second = per_second
        self._burst = burst
        self._take = script(client, "rate_limit")

    def _key(self, client_id: str) -> str:
        # hashed: API keys never sit in Redis, and any client string makes a safe key
        digest = hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self._prefix}rl:{digest}"

    def take(self, client_id: str) -> Decision:
        """Take one token for ``client_id``; ``DependencyDown`` when Redis cannot answer."""
        try:
            allowed, wait_ms = self._take(keys=[self._key(client_id)], args=[self._per_second, self._burst])
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        if int(allowed):
            return Decision(True)
        return Decision(False, max(1, math.ceil(int(wait_ms) / 1000)))
