"""The reservation sweep against the worker, with fakes: units of a reservation that never
became an order come back exactly once, and a message that arrives after the sweep is
stored rejected without taking anything (never sold twice)."""

from __future__ import annotations

from functions.checkout.model import Order, Product
from functions.checkout.service import settle_batch
from functions.reconcile.reservations import expired_reason, sweep_reservations
from tests.fakes import FakeOrderStore, FakeStockGate, count_calls, fail_next, reserve_at

HOT = Product(100, "HOT-100", "Console", 49_900, 10)
NOW_MS = 1_700_000_400_000
TIMEOUT_S = 300
OLD_MS = NOW_MS - TIMEOUT_S * 1000 - 1  # one millisecond past the bound
YOUNG_MS = NOW_MS - TIMEOUT_S * 1000  # exactly at the bound: not yet


def world() -> tuple[FakeOrderStore, FakeStockGate]:
    orders, stock = FakeOrderStore(), FakeStockGate()
    orders.save_products([HOT])
    stock.load_many([HOT])
    return orders, stock


def mysql_stock(orders: FakeOrderStore) -> dict[int, int]:
    return {pid: p.stock for pid, p in orders.catalogue.items()}


def test_only_reservations_past_the_bound_come_back_and_only_once() -> None:
    orders, stock = world()
    reserve_at(stock, OLD_MS, (100, 2))
    reserve_at(stock, YOUNG_MS, (100, 3))
    assert stock.available([100]) == {100: 5}

    report = sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S)
    assert (report["released"], report["units"]) == (1, 2)
    assert stock.available([100]) == {100: 7} and stock.pending() == {100: 3}
    assert sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S)["released"] == 0  # never twice
    assert stock.available([100]) == {100: 7}
    later = sweep_reservations(stock, orders, NOW_MS + 1, TIMEOUT_S)  # the young one crosses the bound
    assert (later["released"], later["units"]) == (1, 3)
    assert stock.available([100]) == {100: 10} and stock.pending() == {}


def test_a_message_arriving_after_the_sweep_is_stored_rejected_and_takes_nothing() -> None:
    """The slow gateway: its SQS send succeeds after the sweep gave the units back."""
    orders, stock = world()
    late = reserve_at(stock, OLD_MS, (100, 4))
    assert sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S)["released"] == 1
    for _ in range(6):  # the units are sold again meanwhile
        reserve_at(stock, NOW_MS, (100, 1))

    assert settle_batch(orders, stock, [late]) == []
    _, settled = orders.orders[late[0].removeprefix("m-")]
    assert (settled.status, settled.reason) == ("rejected", expired_reason(TIMEOUT_S))
    assert mysql_stock(orders) == {100: 10}  # nothing taken in MySQL for it
    assert stock.available([100]) == {100: 4} and stock.pending() == {100: 6}  # not given back twice


def test_a_claimed_order_is_left_to_its_worker() -> None:
    """The worker claimed the batch, then MySQL failed: the order is still in the queue and
    will be settled; the sweep must not give its units back meanwhile."""
    orders, stock = world()
    message = reserve_at(stock, OLD_MS, (100, 2))
    fail_next(orders, "store", 1)
    assert settle_batch(orders, stock, [message]) == [message[0]]

    report = sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S)
    assert (report["released"], report["claimed"]) == (0, 1)
    assert settle_batch(orders, stock, [message]) == []  # the redelivery
    assert mysql_stock(orders) == {100: 8} and stock.available([100]) == {100: 8} and stock.pending() == {}


def test_an_order_mysql_has_is_not_given_back() -> None:
    """Stored in MySQL while its claim failed (Redis blinked): its Redis step is the worker's."""
    orders, stock = world()
    message = reserve_at(stock, OLD_MS, (100, 2))
    orders.store([Order.from_message(message[1])])

    report = sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S)
    assert (report["released"], report["in_mysql"]) == (0, 1)
    assert settle_batch(orders, stock, [message]) == []
    assert mysql_stock(orders) == {100: 8} and stock.available([100]) == {100: 8} and stock.pending() == {}


def test_the_sweep_pages_through_the_index_and_cleans_it() -> None:
    """More stale reservations than one page: every one is looked at once; entries whose
    order was settled are dropped from the index; claimed ones stay for their worker."""
    orders, stock = world()
    messages = [reserve_at(stock, OLD_MS - n, (100, 1)) for n in range(6)]
    ids = [mid.removeprefix("m-") for mid, _ in messages]
    stock.markers[ids[0]]["status"] = "confirmed"  # settled, its index entry left behind
    stock.claim(ids[4:])  # the two oldest: a whole page of the index the sweep must get past

    report = sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S, batch=2)
    assert (report["released"], report["claimed"], report["settled"], report["checked"]) == (3, 2, 1, 6)
    assert stock.available([100]) == {100: 7}  # 10 - 6 reserved + 3 given back
    assert sorted(stock.reservations) == sorted(ids[4:])  # only the claimed ones are still indexed


def test_a_sweep_with_nothing_to_do_reads_the_index_once() -> None:
    orders, stock = world()
    reserve_at(stock, YOUNG_MS, (100, 1))
    reads = count_calls(stock, "stale")
    report = sweep_reservations(stock, orders, NOW_MS, TIMEOUT_S)
    assert (report["checked"], report["released"], report["settled"]) == (0, 0, 0)
    assert reads == [1]
