"""The orders worker's failure paths, with fakes that fail transiently: a message that was
not settled in MySQL AND Redis always comes back (batchItemFailures), and its redelivery
finishes the job exactly once."""

from __future__ import annotations

from functions.checkout.model import Product
from functions.checkout.service import settle_batch
from tests.fakes import FakeOrderStore, FakeStockGate, fail_next, reserve_at

HOT = Product(100, "HOT-100", "Console", 49_900, 10)
OTHER = Product(1001, "SKU-1001", "Cable", 500, 10)


def world() -> tuple[FakeOrderStore, FakeStockGate]:
    orders, stock = FakeOrderStore(), FakeStockGate()
    orders.save_products([HOT, OTHER])
    stock.load_many([HOT, OTHER])
    return orders, stock


def mysql_stock(orders: FakeOrderStore) -> dict[int, int]:
    return {pid: p.stock for pid, p in orders.catalogue.items()}


def settled(orders: FakeOrderStore) -> list[tuple[str, str | None]]:
    return [(s.status, s.reason) for _, s in orders.orders.values()]


def reserve(stock: FakeStockGate, *lines: tuple[int, int]) -> tuple[str, str]:
    return reserve_at(stock, 1_700_000_000_000, *lines)


def test_a_mysql_outage_fails_every_message_and_the_redelivery_stores_them_once() -> None:
    orders, stock = world()
    batch = [reserve(stock, (100, 2)), reserve(stock, (1001, 1)), reserve(stock, (100, 1), (1001, 1))]
    fail_next(orders, "store", 2)  # MySQL down for two deliveries

    for _ in range(2):
        assert settle_batch(orders, stock, batch) == [mid for mid, _ in batch]
        assert orders.orders == {}
        assert stock.pending() == {100: 3, 1001: 2}  # still reserved: nothing given away

    assert settle_batch(orders, stock, batch) == []
    assert [status for status, _ in settled(orders)] == ["confirmed"] * 3
    assert mysql_stock(orders) == {100: 7, 1001: 8}
    assert stock.pending() == {}
    assert settle_batch(orders, stock, batch) == []  # once more: nothing changes
    assert len(orders.orders) == 3 and mysql_stock(orders) == {100: 7, 1001: 8}


def test_a_redis_failure_after_the_commit_fails_the_batchs_confirmed_orders_and_their_redelivery_confirms() -> None:
    """The batch's confirmed orders are confirmed in Redis in one call: when it fails, they all
    come back (MySQL committed them); a rejected order given back before it does not."""
    orders, stock = world()
    stock.load_many([Product(1002, "LOW-1002", "Rare", 900, 5)])
    orders.save_products([Product(1002, "LOW-1002", "Rare", 900, 1)])  # MySQL has less than Redis believed
    first, second, refused = reserve(stock, (100, 2)), reserve(stock, (1001, 3)), reserve(stock, (1002, 2))
    fail_next(stock, "confirm_many", 1)  # the confirm fails, after MySQL committed the batch

    assert settle_batch(orders, stock, [first, second, refused]) == [first[0], second[0]]
    assert len(orders.orders) == 3  # all stored…
    assert stock.pending() == {100: 2, 1001: 3}  # …but the confirmed two are still "pending" in Redis

    assert settle_batch(orders, stock, [first, second]) == []  # the redelivery
    assert stock.pending() == {}
    assert stock.markers[first[0].removeprefix("m-")]["status"] == "confirmed"
    assert len(orders.orders) == 3 and mysql_stock(orders) == {100: 8, 1001: 7, 1002: 1}  # stored once


def test_a_redis_failure_while_giving_back_a_rejected_order_is_retried() -> None:
    orders, stock = world()
    orders.save_products([Product(100, "HOT-100", "Console", 49_900, 1)])  # MySQL has less than Redis believed
    message = reserve(stock, (100, 2))
    fail_next(stock, "release", 1)

    assert settle_batch(orders, stock, [message]) == [message[0]]
    assert stock.pending() == {100: 2} and stock.available([100]) == {100: 8}

    assert settle_batch(orders, stock, [message]) == []
    assert stock.pending() == {} and stock.available([100]) == {100: 10}  # given back, once
    assert settle_batch(orders, stock, [message]) == []
    assert stock.available([100]) == {100: 10}
    assert [status for status, _ in settled(orders)] == ["rejected"]
