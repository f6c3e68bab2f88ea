"""RedisStock, the adapter itself, against a real Redis: what each method hands back to the
services, the keys it writes (TTLs, the minute of the statistics), and ``DependencyDown``
from every method when Redis cannot be reached. Only Redis: no MySQL, no queues."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.adapters.redis_client import connect
from functions.adapters.redis_stock import RedisStock
from functions.checkout.model import (
    AlreadyReserved,
    Claim,
    Delivery,
    Held,
    Item,
    Missing,
    Order,
    Product,
    Reserved,
    Reserving,
    Short,
)
from functions.errors import DependencyDown
from functions.ids import new_id
from functions.runtime.emulator import free_port
from tests.support import monitored, redis_commands, redis_namespace

# 10:20:30.456 on a day: minute 29_453_780 (of the epoch), second 30 of that minute
ACCEPTED_MS = 1_767_226_830_456
MARKER_TTL = 86_400
WINDOW_S = 1_200


@pytest.fixture
def redis(settings: Any) -> Iterator[tuple[Any, str]]:
    with redis_namespace(settings, "stock-adapter") as namespace:
        yield namespace


@pytest.fixture
def stock(redis: tuple[Any, str]) -> RedisStock:
    client, prefix = redis
    stock = RedisStock(client, prefix, marker_ttl=MARKER_TTL, window_seconds=WINDOW_S)
    stock.load_many([Product(1, "SKU-1", "One", 1_000, 5), Product(2, "SKU-2", "Two", 250, 3)])
    return stock


def order(stock: RedisStock, *lines: tuple[int, int], accepted_ms: int = ACCEPTED_MS) -> Order:
    """Reserve ``lines`` and return the order the gateway would queue."""
    order_id = new_id(accepted_ms)
    reserved = stock.reserve(order_id, [Item(p, q) for p, q in lines], "EUR", accepted_ms)
    assert isinstance(reserved, Reserved)
    items = tuple(Item(p, q, price) for (p, q), price in zip(lines, reserved.prices_cents, strict=True))
    total = reserved.total(items)
    return Order(order_id, items, total, "EUR", Delivery("1 Main St", "+3312345678", "a@b.ua"), accepted_ms)


def test_reserve_answers_each_kind_of_reply(stock: RedisStock) -> None:
    first = order(stock, (1, 2), (2, 1))
    assert [i.price_cents for i in first.items] == [1_000, 250]
    assert stock.reserve(new_id(), [Item(1, 4)], "EUR", ACCEPTED_MS) == Short(1, 3)
    assert stock.reserve(new_id(), [Item(99, 1)], "EUR", ACCEPTED_MS) == Missing(99)
    assert stock.reserve(first.id, [Item(1, 2)], "EUR", ACCEPTED_MS) == AlreadyReserved("pending", 2_250)


def test_a_batch_of_orders_is_decided_in_turn_in_one_call_as_orders_alone_would_be(
    stock: RedisStock, redis: tuple[Any, str]
) -> None:
    client, prefix = redis
    first = order(stock, (2, 1))
    later = ACCEPTED_MS + 61_000  # another minute of statistics
    batch = [
        Reserving(new_id(), (Item(1, 3), Item(2, 2)), "EUR", ACCEPTED_MS),  # takes product 2's last two
        Reserving(new_id(), (Item(2, 1),), "EUR", ACCEPTED_MS),  # short: the order before took them
        Reserving(new_id(), (Item(99, 1), Item(1, 1)), "USD", later),  # missing wins, nothing taken
        Reserving(first.id, (Item(2, 1),), "EUR", ACCEPTED_MS),  # a retry of a reserved order
        Reserving(new_id(), (Item(1, 2),), "USD", later),  # product 1's last two
    ]
    stock.reserve_many([])  # the script loaded beforehand
    answers: list[Any] = []
    calls = redis_commands(client, lambda: answers.extend(stock.reserve_many(batch)), batch[0].order_id)
    assert calls == ["EVALSHA"], "one round trip for the whole batch"
    assert answers == [Reserved((1_000, 250)), Short(2, 0), Missing(99), AlreadyReserved("pending", 250),
                       Reserved((1_000,))]  # fmt: skip
    assert stock.available([1, 2]) == {1: 0, 2: 0}
    assert client.hget(f"{prefix}order:{batch[4].order_id}", "currency") == "USD"
    assert client.hgetall(f"{prefix}stats:ord:USD:{later // 60_000}") == {
        "c:31": "1", "s:31": "2000", "u:31": "2", "c": "1", "s": "2000", "u": "2",
    }  # fmt: skip
    assert client.smembers(stock.soldout_key) == {"1", "2"} and client.smembers(stock.series_key) == {"EUR", "USD"}


def test_a_batch_writes_each_second_of_its_orders_statistics_once(stock: RedisStock, redis: tuple[Any, str]) -> None:
    """Four orders of one second: the script sums them and writes the minute's hash three fields
    a second and three totals, once each, instead of six fields an order."""
    client, prefix = redis
    minute = f"{prefix}stats:ord:EUR:{ACCEPTED_MS // 60_000}"
    order(stock, (2, 1))  # the minute already holds an order: the batch adds to it
    batch = [Reserving(new_id(), (Item(1, 1),), "EUR", ACCEPTED_MS + n) for n in range(4)]
    batch.append(Reserving(new_id(), (Item(1, 9),), "EUR", ACCEPTED_MS))  # short: counts nothing
    writes = [
        str(c["command"]).split(" ", 1)[0]
        for c in monitored(client, lambda: stock.reserve_many(batch))
        if c.get("client_type") == "lua" and minute in str(c["command"])  # run by the script
    ]
    assert sorted(writes) == ["EXPIRE"] + ["HINCRBY"] * 6
    assert client.hgetall(minute) == {
        "c:30": "5", "s:30": "4250", "u:30": "5", "c": "5", "s": "4250", "u": "5",
    }  # fmt: skip
    assert client.smembers(stock.series_key) == {"EUR"}


def test_short_never_reports_less_than_zero(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, _ = redis
    client.hset(stock.product_key(1), "available", -2)  # an operator's bad edit
    reply = stock.reserve(new_id(), [Item(1, 1)], "EUR", ACCEPTED_MS)
    assert (reply.product_id, reply.available) == (1, 0)  # type: ignore[union-attr]


def test_the_marker_and_the_statistics_live_under_their_keys_and_ttls(
    stock: RedisStock, redis: tuple[Any, str]
) -> None:
    client, prefix = redis
    placed = order(stock, (1, 2))
    marker = client.hgetall(f"{prefix}order:{placed.id}")
    assert marker["status"] == "pending" and marker["accepted_ms"] == str(ACCEPTED_MS)
    assert MARKER_TTL - 5 < client.ttl(f"{prefix}order:{placed.id}") <= MARKER_TTL
    minute = f"{prefix}stats:ord:EUR:{ACCEPTED_MS // 60_000}"
    assert client.hgetall(minute) == {"c:30": "1", "s:30": "2000", "u:30": "2", "c": "1", "s": "2000", "u": "2"}
    assert (WINDOW_S + 299) * 1000 < client.pttl(minute) <= (WINDOW_S + 300) * 1000
    assert client.smembers(stock.series_key) == {"EUR"} and stock.bucket_prefix == f"{prefix}stats:ord:"


def test_release_gives_back_once_and_takes_the_statistics_back(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, prefix = redis
    placed = order(stock, (1, 2), (2, 1))
    assert stock.release(placed, "rejected", "out of stock") is True
    assert stock.release(placed, "rejected", "out of stock") is False
    assert stock.available([1, 2]) == {1: 5, 2: 3} and stock.pending() == {}
    assert client.hgetall(f"{prefix}order:{placed.id}")["reason"] == "out of stock"
    minute = client.hgetall(f"{prefix}stats:ord:EUR:{ACCEPTED_MS // 60_000}")
    assert (minute["c:30"], minute["s:30"], minute["u:30"]) == ("0", "0", "0")


def test_the_sweep_releases_only_what_is_older_than_its_bound(stock: RedisStock) -> None:
    placed = order(stock, (1, 1))
    assert stock.release(placed, "expired", "reservation expired", accepted_before_ms=ACCEPTED_MS) is False
    assert stock.release(placed, "expired", "reservation expired", accepted_before_ms=ACCEPTED_MS + 1) is True


def test_confirm_clears_pending_and_keeps_the_units_sold(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, _ = redis
    placed = order(stock, (1, 2))
    stock.confirm_many([placed])
    assert stock.pending() == {} and stock.available([1]) == {1: 3}
    assert stock.marker(placed.id)["status"] == "confirmed"  # type: ignore[index]
    assert client.zscore(stock.sold_key, "1") == 2  # sold: pending, then confirmed


def test_a_batch_is_confirmed_in_one_call_each_order_once(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, _ = redis
    first, second, third = order(stock, (1, 2), (2, 1)), order(stock, (1, 1)), order(stock, (2, 2))
    stock.confirm_many([])  # nothing to confirm: no call; the script loaded by the first one below
    stock.confirm_many([third])
    assert stock.pending() == {1: 3, 2: 1}
    calls = redis_commands(client, lambda: stock.confirm_many([first, second, third]), first.id)
    assert calls == ["EVALSHA"], "one round trip for the whole batch"
    assert stock.pending() == {}  # the third's units not taken off twice
    assert stock.available([1, 2]) == {1: 2, 2: 0}
    for placed in (first, second, third):
        marker = client.hgetall(f"{stock._marker_key(placed.id)}")
        assert (marker["status"], marker["total_cents"]) == ("confirmed", str(placed.total_cents))
        assert MARKER_TTL - 5 < client.ttl(stock._marker_key(placed.id)) <= MARKER_TTL
    assert client.zcard(stock._reservations_key) == 0
    fourth = order(stock, (1, 1))
    stock.confirm_many([first, second])  # redelivered: nothing changes, the fourth stays pending
    assert stock.pending() == {1: 1} and stock.available([1, 2]) == {1: 1, 2: 0}
    assert client.hget(stock._marker_key(fourth.id), "status") == "pending"


def test_claim_reports_each_known_order_and_skips_unknown_ones(stock: RedisStock) -> None:
    pending, rejected = order(stock, (1, 1)), order(stock, (2, 1))
    stock.release(rejected, "rejected", "")
    unknown = new_id()
    assert stock.claim([]) == {}
    assert stock.claim([pending.id, unknown, rejected.id]) == {
        pending.id: Claim("pending"),
        rejected.id: Claim("rejected", None),  # an empty reason is no reason
    }


def test_stale_lists_pending_reservations_before_the_bound_up_to_the_limit(
    stock: RedisStock, redis: tuple[Any, str]
) -> None:
    client, prefix = redis
    old = order(stock, (1, 1), accepted_ms=ACCEPTED_MS - 2_000)
    older = order(stock, (2, 1), accepted_ms=ACCEPTED_MS - 3_000)
    claimed = order(stock, (1, 1), accepted_ms=ACCEPTED_MS - 1_000)
    stock.claim([claimed.id])
    order(stock, (1, 1), accepted_ms=ACCEPTED_MS)  # at the bound: not stale yet
    held = stock.stale(ACCEPTED_MS, limit=10)
    assert [h.order_id for h in held] == [older.id, old.id, claimed.id]
    assert [h.claimed for h in held] == [False, False, True]
    assert held[1].order is not None and held[1].order.items == old.items
    assert held[1].order.total_cents == old.total_cents and held[1].order.accepted_ms == old.accepted_ms
    assert [h.order_id for h in stock.stale(ACCEPTED_MS, limit=1)] == [older.id]
    for settled in ("confirmed", "rejected"):  # settled meanwhile: nothing to give back
        client.hset(f"{prefix}order:{old.id}", "status", settled)
        assert stock.stale(ACCEPTED_MS, limit=10)[1] == Held(old.id, False, None)
    stock.forget([])
    stock.forget([older.id, old.id])
    assert [h.order_id for h in stock.stale(ACCEPTED_MS, limit=10)] == [claimed.id]


def test_markers_and_products_are_none_when_unknown(stock: RedisStock) -> None:
    assert stock.marker(new_id()) is None and stock.product(99) is None
    assert stock.product(1) == {"available": "5", "price_cents": "1000", "sku": "SKU-1", "name": "One"}
    assert stock.available([1, 99]) == {1: 5, 99: None}


def test_load_tells_before_and_after_and_only_overwrites_when_forced(stock: RedisStock) -> None:
    assert stock.load(Product(3, "SKU-3", "Three", 100, 7)) == (None, 7)
    assert stock.load(Product(3, "SKU-3", "Three", 100, 9)) == (7, 7)
    assert stock.load(Product(3, "SKU-3", "Three", 100, 9), force=True) == (7, 9)
    assert stock.load_many([Product(3, "SKU-3", "Three", 100, 5)]) == [(9, 9)]  # not forced unless asked
    assert stock.load(Product(3, "SKU-3", "Three", 100, 9), force=True) == (9, 9)
    assert stock.load(Product(4, "SKU-4", "Four", 100, 0)) == (None, 0)
    assert stock.load(Product(4, "SKU-4", "Four", 100, 0), force=True) == (0, 0)  # sold out is not unknown


def test_the_sold_out_set_and_the_units_sold_follow_reservations(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, _ = redis
    order(stock, (1, 5))
    placed = order(stock, (2, 1))
    assert client.smembers(stock.soldout_key) == {"1"}
    assert client.zrange(stock.sold_key, 0, -1, withscores=True) == [("2", 1.0), ("1", 5.0)]
    stock.release(placed, "rejected", "")
    assert client.zscore(stock.sold_key, "2") is None  # given back: no longer among the units sold


def test_the_product_lock_is_held_by_one_at_a_time(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, prefix = redis
    other = client.lock(f"{prefix}lock:product:1", blocking_timeout=0)
    with stock.lock(1):
        assert other.acquire() is False
        assert 4_000 < client.pttl(f"{prefix}lock:product:1") <= 5_000  # a crashed holder frees it within 5 s
    assert other.acquire() is True
    other.release()


def test_a_loader_waits_for_the_lock_its_holder_releases(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, prefix = redis
    holder = client.lock(f"{prefix}lock:product:1", timeout=5, thread_local=False)  # released by a timer thread
    assert holder.acquire()
    threading.Timer(0.2, holder.release).start()
    started = time.monotonic()
    with stock.lock(1):
        pass  # got it once the holder let go
    assert time.monotonic() - started < 0.8  # it polls often: a loader is not kept waiting for long


def test_a_loader_gives_up_on_a_busy_lock_after_three_seconds(stock: RedisStock, redis: tuple[Any, str]) -> None:
    client, prefix = redis
    holder = client.lock(f"{prefix}lock:product:1", timeout=10)
    assert holder.acquire()
    started = time.monotonic()
    with pytest.raises(DependencyDown), stock.lock(1):
        pass
    assert 2.9 < time.monotonic() - started < 3.9
    holder.release()


def test_every_method_raises_dependency_down_when_redis_is_unreachable() -> None:
    dead = RedisStock(connect(f"redis://127.0.0.1:{free_port()}/0"), "x:", MARKER_TTL, WINDOW_S)
    placed = Order(new_id(), (Item(1, 1, 100),), 100, "EUR", Delivery("1 Main St", "+3312345678", "a@b.ua"), 1)
    calls: list[Any] = [
        lambda: dead.reserve(placed.id, list(placed.items), "EUR", 1),
        lambda: dead.release(placed, "cancelled"),
        lambda: dead.confirm_many([placed]),
        lambda: dead.claim([placed.id]),
        lambda: dead.stale(1, 10),
        lambda: dead.forget([placed.id]),
        lambda: dead.marker(placed.id),
        lambda: dead.product(1),
        lambda: dead.load(Product(1, "S", "N", 100, 1)),
        lambda: dead.available([1]),
        lambda: dead.pending(),
    ]
    for call in calls:
        with pytest.raises(DependencyDown):
            call()
    with pytest.raises(DependencyDown), dead.lock(1):
        pass
