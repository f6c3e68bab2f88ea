"""``GET /statistics`` from Redis in one round trip (``lua/statistics.lua``).

The payments and orders windows, the per-second series, the best sellers, the sold-out
products and the last reconcile report: one EVALSHA instead of five or six calls.
"""

from __future__ import annotations

import json

import redis

from functions.adapters.redis_client import redis_down, script
from functions.adapters.redis_payments import RedisPaymentCounters
from functions.adapters.redis_stock import RedisStock
from functions.statistics.model import Aggregate, StatisticsRead


class RedisStatistics:
    """Reads the keys ``counters`` and ``stock`` write, and the reconcile log's key; the
    wiring builds it from those adapters. ``read(first, last, series, best_sellers, sold_out)``
    is one EVALSHA (the integration tests read it against a real Redis)."""

    def __init__(self, client: redis.Redis, counters: RedisPaymentCounters, stock: RedisStock, reconcile_key: str):
        self._script = script(client, "statistics")
        self._keys = [
            counters.series_key,
            stock.series_key,
            stock.sold_key,
            stock.soldout_key,
            reconcile_key,
        ]
        self._prefixes = [counters.bucket_prefix, stock.bucket_prefix, stock.product_prefix]

    def read(
        self,
        first_second: int,
        last_second: int,
        series: bool,
        best_sellers: int,
        sold_out: int,
        series_currency: str | None = None,
    ) -> StatisticsRead:
        args = [*self._prefixes, first_second, last_second, "1" if series else "0", best_sellers, sold_out]
        args += [series_currency] if series_currency else []
        with redis_down():
            payments, counts, orders, best, sold, reconcile = self._script(keys=self._keys, args=args)
        return StatisticsRead(
            payments={str(row[0]): Aggregate(*(int(v) for v in row[1:])) for row in payments},
            second_counts=[int(c) for c in counts] if series else None,
            orders={str(row[0]): [int(v) for v in row[1:]] for row in orders},
            best_sellers=[
                (int(pid), int(float(units)), None if int(left) < 0 else int(left)) for pid, units, left in best
            ],
            sold_out=(int(sold[0]), sorted(int(pid) for pid in sold[1:])),
            last_reconcile=json.loads(reconcile) if reconcile else None,
        )
