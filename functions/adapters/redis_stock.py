"""Flash-sale stock in Redis: the atomic gate (Lua), order markers and orders statistics.

Keys (``P`` is the prefix):

- ``P product:<id>``      hash: ``available``, ``price_cents``, ``sku``, ``name``
- ``P stock:pending``     hash: product id -> units reserved by orders not yet in MySQL
- ``P stock:soldout``     set of product ids with nothing available
- ``P order:<id>``        hash: ``status`` (pending/confirmed/rejected), ``total_cents``, ``reason``…
- ``P stats:ord:<CUR>:<minute>`` per-second buckets ``c``/``s``/``u`` (orders, cents, units)
- ``P stats:ord:sold``    zset: product id -> units sold (pending + confirmed)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import redis
from redis.exceptions import LockError

from functions.adapters.redis_client import script
from functions.adapters.redis_window import BucketWindow
from functions.checkout.model import AlreadyReserved, Item, Missing, Order, Product, Reservation, Reserved, Short
from functions.errors import DependencyDown


class RedisStock:
    """Hot stock in Redis; ``client`` is a live Redis client.

    >>> stock = RedisStock(client, prefix, marker_ttl=86400, window_seconds=1200)
    >>> stock.load(Product(100, "HOT-100", "Console", 49_900, 10))  # (before, after)
    (None, 10)
    >>> stock.reserve("01KD0000000000000000000001", [Item(100, 2)], "EUR", 1_767_225_600_000)
    Reserved(prices_cents=(49900,))
    >>> stock.reserve("01KD0000000000000000000002", [Item(100, 9)], "EUR", 1_767_225_600_000)
    Short(product_id=100, available=8)
    """

    def __init__(self, client: redis.Redis, prefix: str, marker_ttl: int, window_seconds: int):
        self._client = client
        self._p = prefix
        self._marker_ttl = marker_ttl
        self._stats_ttl = window_seconds + 300  # as long as a window can reach a minute, plus slack
        self._reserve = script(client, "reserve_stock")
        self._release = script(client, "release_stock")
        self._confirm = script(client, "confirm_order")
        self._load = script(client, "load_stock")
        self._window = BucketWindow(client, f"{prefix}stats:ord:", self._series_key, ["c:sum", "s:sum", "u:sum"])

    # key names
    def product_key(self, product_id: int) -> str:
        return f"{self._p}product:{product_id}"

    def _marker_key(self, order_id: str) -> str:
        return f"{self._p}order:{order_id}"

    def _minute_key(self, currency: str, accepted_ms: int) -> str:
        return f"{self._p}stats:ord:{currency}:{accepted_ms // 60_000}"

    @property
    def _pending_key(self) -> str:
        return f"{self._p}stock:pending"

    @property
    def _soldout_key(self) -> str:
        return f"{self._p}stock:soldout"

    @property
    def _sold_key(self) -> str:
        return f"{self._p}stats:ord:sold"

    @property
    def _series_key(self) -> str:
        return f"{self._p}stats:ord:currencies"

    def reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        keys = [
            self._pending_key,
            self._marker_key(order_id),
            self._minute_key(currency, accepted_ms),
            self._series_key,
            self._sold_key,
            self._soldout_key,
            *(self.product_key(i.product_id) for i in items),
        ]
        args: list[str | int] = [currency, accepted_ms, accepted_ms // 1000 % 60, self._marker_ttl, self._stats_ttl]
        for item in items:
            args += [item.product_id, item.quantity]
        try:
            reply = self._reserve(keys=keys, args=args)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        kind = reply[0]
        if kind == "reserved":
            return Reserved(tuple(int(p) for p in reply[1:]))
        if kind == "short":
            return Short(int(reply[1]), max(0, int(reply[2])))
        if kind == "missing":
            return Missing(int(reply[1]))
        return AlreadyReserved(str(reply[1]), int(reply[2]))

    def release(self, order: Order, outcome: str, reason: str = "") -> bool:
        keys = [
            self._pending_key,
            self._marker_key(order.id),
            self._minute_key(order.currency, order.accepted_ms),
            self._sold_key,
            self._soldout_key,
            *(self.product_key(i.product_id) for i in order.items),
        ]
        args: list[str | int] = [outcome, reason, self._marker_ttl, order.accepted_ms // 1000 % 60, order.total_cents]
        for item in order.items:
            args += [item.product_id, item.quantity]
        try:
            return bool(self._release(keys=keys, args=args))
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    def confirm(self, order: Order) -> None:
        args: list[str | int] = [self._marker_ttl, order.total_cents]
        for item in order.items:
            args += [item.product_id, item.quantity]
        try:
            self._confirm(keys=[self._pending_key, self._marker_key(order.id)], args=args)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    def marker(self, order_id: str) -> dict[str, str] | None:
        return self._hash(self._marker_key(order_id))

    def product(self, product_id: int) -> dict[str, str] | None:
        return self._hash(self.product_key(product_id))

    def _hash(self, key: str) -> dict[str, str] | None:
        try:
            return self._client.hgetall(key) or None  # type: ignore[return-value]  # decode_responses=True: replies are str, redis-py types them bytes | str
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    @contextmanager
    def lock(self, product_id: int) -> Iterator[None]:
        """SET NX with a token and a timeout (redis-py's ``Lock``): a crashed holder cannot block forever."""
        lock = self._client.lock(f"{self._p}lock:product:{product_id}", timeout=5, sleep=0.01, blocking_timeout=3)
        try:
            acquired = lock.acquire()
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        if not acquired:
            raise DependencyDown("redis", TimeoutError(f"stock lock of product {product_id} is busy"))
        try:
            yield
        finally:
            # expired meanwhile: harmless, the next loader re-checks the key anyway
            with suppress(LockError, redis.RedisError):
                lock.release()

    def load(self, product: Product, force: bool = False) -> tuple[int | None, int]:
        return self.load_many([product], force)[0]

    def load_many(self, products: Sequence[Product], force: bool = False) -> list[tuple[int | None, int]]:
        """``load`` for many products in one pipeline (catalogue load, reconcile)."""
        pipe = self._client.pipeline(transaction=False)
        for p in products:
            self._load(
                keys=[self.product_key(p.id), self._pending_key, self._soldout_key],
                args=[p.id, p.stock, p.price_cents, p.sku, p.name, "force" if force else "missing"],
                client=pipe,
            )
        try:
            replies = pipe.execute()
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return [(None if int(before) < 0 else int(before), int(after)) for before, after in replies]

    def available(self, product_ids: Sequence[int]) -> dict[int, int | None]:
        pipe = self._client.pipeline(transaction=False)
        for pid in product_ids:
            pipe.hget(self.product_key(pid), "available")
        try:
            values = pipe.execute()
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return {pid: None if v is None else int(v) for pid, v in zip(product_ids, values, strict=True)}

    def pending(self) -> dict[int, int]:
        try:
            raw = self._client.hgetall(self._pending_key)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return {int(k): int(v) for k, v in raw.items()}

    def window(self, first_second: int, last_second: int) -> dict[str, list[int]]:
        return self._window.read(first_second, last_second)

    def best_sellers(self, limit: int) -> list[tuple[int, int, int | None]]:
        try:
            top: list[tuple[str, float]] = self._client.zrevrange(  # type: ignore[assignment]  # withscores=True: (member, score) pairs
                self._sold_key, 0, limit - 1, withscores=True
            )
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        ids = [int(pid) for pid, _ in top]
        available = self.available(ids)
        return [(int(pid), int(sold), available[int(pid)]) for pid, sold in top]

    def sold_out(self, limit: int) -> tuple[int, list[int]]:
        pipe = self._client.pipeline(transaction=False)
        pipe.scard(self._soldout_key)
        pipe.srandmember(self._soldout_key, limit)
        try:
            count, some = pipe.execute()
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return int(count), sorted(int(pid) for pid in some)
