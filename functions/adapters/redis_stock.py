"""Flash-sale stock in Redis: the atomic gate (Lua), order markers and orders statistics.

Keys (``P`` is the prefix):

- ``P product:<id>``      hash: ``available``, ``price_cents``, ``sku``, ``name``
- ``P stock:pending``     hash: product id -> units reserved by orders not yet in MySQL
- ``P stock:soldout``     set of product ids with nothing available
- ``P stock:reservations`` zset: order id -> accepted ms, while its reservation is pending
- ``P order:<id>``        hash: ``status`` (pending/confirmed/rejected), ``total_cents``, ``reason``…
- ``P stats:ord:<CUR>:<minute>`` per-second buckets ``c``/``s``/``u`` (orders, cents, units)
- ``P stats:ord:sold``    zset: product id -> units sold (pending + confirmed)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import redis
from redis.exceptions import LockError

from functions.adapters.redis_client import script
from functions.checkout.model import (
    AlreadyReserved,
    Claim,
    Delivery,
    Held,
    Item,
    Missing,
    Order,
    Product,
    Reservation,
    Reserved,
    Reserving,
    Short,
    held_items,
)
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
        self.product_prefix = f"{prefix}product:"
        self._marker_ttl = marker_ttl
        self._stats_ttl = window_seconds + 300  # as long as a window can reach a minute, plus slack
        self._reserve = script(client, "reserve_stock")
        self._release = script(client, "release_stock")
        self._confirm = script(client, "confirm_order")
        self._claim = script(client, "claim_orders")
        self._load = script(client, "load_stock")
        self.bucket_prefix = f"{prefix}stats:ord:"  # RedisStatistics reads the buckets under it

    # key names
    def product_key(self, product_id: int) -> str:
        return f"{self.product_prefix}{product_id}"

    def _marker_key(self, order_id: str) -> str:
        return f"{self._p}order:{order_id}"

    def _minute_key(self, currency: str, accepted_ms: int) -> str:
        return f"{self.bucket_prefix}{currency}:{accepted_ms // 60_000}"

    @property
    def _pending_key(self) -> str:
        return f"{self._p}stock:pending"

    @property
    def soldout_key(self) -> str:
        return f"{self._p}stock:soldout"

    @property
    def _reservations_key(self) -> str:
        return f"{self._p}stock:reservations"

    @property
    def sold_key(self) -> str:
        return f"{self._p}stats:ord:sold"

    @property
    def series_key(self) -> str:
        """The set of currencies that have order buckets."""
        return f"{self.bucket_prefix}currencies"

    def reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        return self.reserve_many([Reserving(order_id, tuple(items), currency, accepted_ms)])[0]

    def reserve_many(self, orders: Sequence[Reserving]) -> list[Reservation]:
        """Each order in turn, all its items or none, in one Lua call."""
        keys = [self._pending_key, self.series_key, self.sold_key, self.soldout_key, self._reservations_key]
        args: list[str | int] = [self._marker_ttl, self._stats_ttl]
        for order in orders:
            ms = order.accepted_ms
            keys += [self._marker_key(order.order_id), self._minute_key(order.currency, ms)]
            keys += [self.product_key(i.product_id) for i in order.items]
            args += [order.order_id, order.currency, ms, ms // 1000 % 60, len(order.items)]
            for item in order.items:
                args += [item.product_id, item.quantity]
        try:
            replies = self._reserve(keys=keys, args=args)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return [_reservation(reply) for reply in replies]

    def release(self, order: Order, outcome: str, reason: str = "", accepted_before_ms: int = 0) -> bool:
        keys = [
            self._pending_key,
            self._marker_key(order.id),
            self._minute_key(order.currency, order.accepted_ms),
            self.sold_key,
            self.soldout_key,
            self._reservations_key,
            *(self.product_key(i.product_id) for i in order.items),
        ]
        args: list[str | int] = [
            outcome, reason, self._marker_ttl, order.accepted_ms // 1000 % 60, order.total_cents, order.id,
            accepted_before_ms,
        ]  # fmt: skip
        for item in order.items:
            args += [item.product_id, item.quantity]
        try:
            return bool(self._release(keys=keys, args=args))
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    def confirm_many(self, orders: Sequence[Order]) -> None:
        """Every order of a worker's batch confirmed in one Lua call (one round trip, not one per order)."""
        if not orders:
            return
        keys = [self._pending_key, self._reservations_key, *(self._marker_key(o.id) for o in orders)]
        args: list[str | int] = [self._marker_ttl]
        for order in orders:
            args += [order.total_cents, order.id, len(order.items)]
            for item in order.items:
                args += [item.product_id, item.quantity]
        try:
            self._confirm(keys=keys, args=args)
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc

    def claim(self, order_ids: Sequence[str]) -> dict[str, Claim]:
        if not order_ids:
            return {}
        try:
            reply = self._claim(keys=[self._marker_key(oid) for oid in order_ids])
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return {
            oid: Claim(status, reason or None)
            for oid, status, reason in zip(order_ids, reply[0::2], reply[1::2], strict=True)
            if status
        }

    def stale(self, accepted_before_ms: int, limit: int) -> list[Held]:
        try:
            raw = self._client.zrangebyscore(self._reservations_key, "-inf", f"({accepted_before_ms}", 0, limit)
            ids = [str(oid) for oid in raw]
            pipe = self._client.pipeline(transaction=False)
            for oid in ids:
                pipe.hgetall(self._marker_key(oid))
            markers = pipe.execute()
        except redis.RedisError as exc:
            raise DependencyDown("redis", exc) from exc
        return [_held(oid, marker) for oid, marker in zip(ids, markers, strict=True)]

    def forget(self, order_ids: Sequence[str]) -> None:
        if not order_ids:
            return
        try:
            self._client.zrem(self._reservations_key, *order_ids)
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
                keys=[self.product_key(p.id), self._pending_key, self.soldout_key],
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


def _held(order_id: str, marker: dict[str, str]) -> Held:
    """A reservation as the marker keeps it; the delivery is not kept (not needed to give units back)."""
    if marker.get("status") != "pending":
        return Held(order_id, False, None)
    items = held_items(marker)
    order = Order(
        order_id,
        items,
        int(marker["total_cents"]),
        marker["currency"],
        Delivery("", "", ""),
        int(marker["accepted_ms"]),
    )
    return Held(order_id, "claimed" in marker, order)


def _reservation(reply: Sequence[Any]) -> Reservation:
    kind = reply[0]
    if kind == "reserved":
        return Reserved(tuple(int(p) for p in reply[1:]))
    if kind == "short":
        return Short(int(reply[1]), max(0, int(reply[2])))
    if kind == "missing":
        return Missing(int(reply[1]))
    return AlreadyReserved(str(reply[1]), int(reply[2]))
