"""Client CPU and Redis round trips of one ``GET /statistics`` read: the section-by-section
calls against the one-script read, in one run against the configured Redis.

``REDIS_URL=… REDIS_PREFIX=… python -m loadtest.statistics_cpu [--calls N]`` — reads only.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from functions.adapters.redis_client import connect
from functions.adapters.redis_payments import RedisPaymentCounters
from functions.adapters.redis_statistics import RedisStatistics
from functions.adapters.redis_stock import RedisStock
from functions.config import get_settings
from functions.statistics.service import BEST_SELLERS, SOLD_OUT_LISTED


def cpu_us(call: Callable[[], Any], calls: int) -> float:
    call()
    start = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - start) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    settings = get_settings()
    client = connect(settings.redis_url)
    p, ttl, window = settings.redis_prefix, settings.payment_marker_ttl_seconds, settings.stats_window_seconds
    counters, stock = RedisPaymentCounters(client, p, ttl, window), RedisStock(client, p, ttl, window)
    store = RedisStatistics(client, counters, stock, f"{p}reconcile:last")
    last = int(time.time())
    first = last - window + 1

    def sections() -> None:  # payments window, orders window, sold out, best sellers (2), last reconcile
        counters.window(first, last)
        stock.window(first, last)
        stock.sold_out(SOLD_OUT_LISTED)
        stock.best_sellers(BEST_SELLERS)
        client.get(f"{p}reconcile:last")

    before = cpu_us(sections, args.calls)
    after = cpu_us(lambda: store.read(first, last, False, BEST_SELLERS, SOLD_OUT_LISTED), args.calls)
    print(f"GET /statistics reads, client CPU per read (µs), {args.calls} reads")
    print(f"  section by section (6 round trips): {before:.0f}")
    print(f"  one script (1 round trip):          {after:.0f}")
    print(f"  ratio: {before / after:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
