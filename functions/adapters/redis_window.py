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
    """Sums (or min/max) of per-second fields over a window; ``client`` is a live Redis client.
    ``RedisPaymentCounters`` and ``RedisStock`` write the buckets it reads.

    >>> from functions.adapters.redis_stock import RedisStock
    >>> from functions.checkout.model import Item, Product
    >>> stock = RedisStock(client, prefix, marker_ttl=86400, window_seconds=1200)
    >>> _ = stock.load(Product(7, "SKU-7", "Mug", 1_250, 10))
    >>> stock.reserve("01KD0000000000000000000003", [Item(7, 3)], "EUR", 1_767_225_600_000)
    Reserved(prices_cents=(1250,))
    >>> window = BucketWindow(client, f"{prefix}stats:ord:", f"{prefix}stats:ord:currencies", ["c:sum", "s:sum"])
    >>> window.read(1_767_225_590, 1_767_225_610)
    {'EUR': [1, 3750]}
    """

    def __init__(self, client: redis.Redis, key_prefix: str, series_key: str, fields: Sequence[str]):
        self._script = script(client, "bucket_window")
        self._key_prefix = key_prefix
        self._series_key = series_key
        self._fields = list(fields)

    def read(self, first_second: int, last_second: int) -> dict[str, list[int]]:
        try:
            rows = self._script(
                keys=[self._series_key], args=[self._key_prefix, first_second, last_second, *self._fields]
            )
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return {str(row[0]): [int(v) for v in row[1:]] for row in rows}
