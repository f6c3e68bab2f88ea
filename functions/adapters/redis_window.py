"""Read per-second statistics buckets over a window, for any series of minute hashes.

Payments (count, sum, min, max per currency) and orders (count, revenue, units per
currency) keep the same bucket layout; ``lua/bucket_window.lua`` reads either in one call.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from functions.adapters.redis_client import script
from functions.errors import DependencyDown


class BucketWindow:
    """Example::

    window = BucketWindow(client, "surge:stats:pay:", "surge:stats:pay:currencies", ["c:sum", "s:sum", "mn:min"])
    window.read(first_second, last_second)   # -> {"EUR": [3, 3750, 1000]}
    """

    def __init__(self, client: redis.Redis, key_prefix: str, series_key: str, fields: Sequence[str]):
        self._script = script(client, "bucket_window")
        self.key_prefix = key_prefix
        self.series_key = series_key
        self._fields = list(fields)

    def read(self, first_second: int, last_second: int) -> dict[str, list[int]]:
        try:
            rows = self._script(
                keys=[self.series_key], args=[self.key_prefix, first_second, last_second, *self._fields]
            )
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return {str(row[0]): [int(v) for v in row[1:]] for row in rows}
