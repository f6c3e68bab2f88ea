"""The reservation sweep against real Redis (its Lua scripts), MariaDB and SQS."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from functions.checkout.model import Item, Order, Reserved
from functions.checkout.service import priced
from functions.ids import new_id
from functions.reconcile.reservations import expired_reason, sweep_reservations
from tests.checkout_support import DELIVERY, available, mysql_stock, order_count
from tests.support import hot_figures, work_off

TIMEOUT_S = 300


def reserve_at(surge_app: Any, accepted_ms: int, *lines: tuple[int, int]) -> Order:
    """What a gateway does before it sends the order: the reservation, in real Redis."""
    from functions.checkout.model import Delivery

    order_id = new_id(accepted_ms)
    items = tuple(Item(pid, qty) for pid, qty in lines)
    reserved = surge_app.stock.reserve(order_id, items, "EUR", accepted_ms)
    assert isinstance(reserved, Reserved), reserved
    return Order(
        order_id, priced(items, reserved.prices_cents), reserved.total(items), "EUR", Delivery(**DELIVERY), accepted_ms
    )


def send(surge_app: Any, order: Order) -> None:
    surge_app.queue.send(surge_app.settings.queue_name("orders"), order.to_message())


def test_an_abandoned_reservation_comes_back_once_after_the_bound(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=1)
    now_ms = int(time.time()) * 1000  # reconcile's clock is whole seconds
    old = reserve_at(surge_app, now_ms - TIMEOUT_S * 1000 - 1, (100, 2), (1001, 1))
    young = reserve_at(surge_app, now_ms - TIMEOUT_S * 1000 + 1000, (100, 3))
    assert (available(surge_app, 100), available(surge_app, 1001)) == (5, 99)

    report = surge_app.reconcile.run(now_s=now_ms // 1000)["reservations"]
    assert (report["released"], report["units"], report["timeout_seconds"]) == (1, 3, TIMEOUT_S)
    assert (available(surge_app, 100), available(surge_app, 1001)) == (7, 100)
    assert surge_app.stock.pending() == {100: 3}
    assert surge_app.stock.marker(old.id)["status"] == "rejected"
    assert surge_app.stock.marker(old.id)["reason"] == expired_reason(TIMEOUT_S)
    assert surge_app.stock.marker(young.id)["status"] == "pending"
    assert dict((p, s) for p, s, _ in hot_figures(surge_app).best_sellers) == {100: 3}  # the old sale is taken out

    again = sweep_reservations(surge_app.stock, surge_app.orders, now_ms, TIMEOUT_S)
    assert again["released"] == 0 and available(surge_app, 100) == 7  # never twice
    assert surge_app.checkout.status(old.id)["status"] == "rejected"  # what the buyer is told


def test_concurrent_sweeps_give_each_reservation_back_exactly_once(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=200, products=0)
    old_ms = int(time.time() * 1000) - TIMEOUT_S * 1000 - 5000
    for _ in range(60):
        reserve_at(surge_app, old_ms, (100, 3))
    assert available(surge_app, 100) == 20

    def sweep(_: int) -> int:
        return int(
            sweep_reservations(surge_app.stock, surge_app.orders, int(time.time() * 1000), TIMEOUT_S)["released"]
        )

    with ThreadPoolExecutor(6) as pool:
        released = sum(pool.map(sweep, range(6)))
    assert released == 60
    assert available(surge_app, 100) == 200 and surge_app.stock.pending() == {}


def test_a_message_sent_after_the_sweep_is_stored_rejected_and_oversells_nothing(surge_app: Any) -> None:
    """A slow gateway's SQS send lands after the sweep gave its units back, and they were
    sold again: the worker stores the late order rejected, taking nothing in MySQL."""
    surge_app.operator.load_catalogue(hot_stock=4, products=0)
    now_ms = int(time.time() * 1000)
    late = reserve_at(surge_app, now_ms - TIMEOUT_S * 1000 - 1, (100, 4))
    assert sweep_reservations(surge_app.stock, surge_app.orders, now_ms, TIMEOUT_S)["released"] == 1
    resold = [reserve_at(surge_app, now_ms, (100, 2)) for _ in range(2)]
    for order in resold:
        send(surge_app, order)
    send(surge_app, late)
    work_off(surge_app, "orders")

    row = surge_app.orders.get(late.id)
    assert (row.status, row.reason) == ("rejected", expired_reason(TIMEOUT_S))
    assert order_count(surge_app, "confirmed") == 2
    assert mysql_stock(surge_app, 100) == 0 and available(surge_app, 100) == 0  # 4 sold, not 8
    assert surge_app.stock.pending() == {}


def test_a_claimed_reservation_is_left_to_the_worker(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=0)
    now_ms = int(time.time() * 1000)
    order = reserve_at(surge_app, now_ms - TIMEOUT_S * 1000 - 1, (100, 2))
    assert surge_app.stock.claim([order.id])[order.id].status == "pending"
    report = sweep_reservations(surge_app.stock, surge_app.orders, now_ms, TIMEOUT_S)
    assert (report["released"], report["claimed"]) == (0, 1)
    # a worker claiming between the sweep's read and its release: the script itself refuses
    assert surge_app.stock.release(order, "expired", "x", now_ms - TIMEOUT_S * 1000) is False
    young = reserve_at(surge_app, now_ms, (100, 1))
    assert surge_app.stock.release(young, "expired", "x", now_ms - TIMEOUT_S * 1000) is False  # too young
    assert available(surge_app, 100) == 7
    send(surge_app, order)
    work_off(surge_app, "orders")
    assert surge_app.orders.get(order.id).status == "confirmed"
    assert mysql_stock(surge_app, 100) == 8 and available(surge_app, 100) == 7
    assert sweep_reservations(surge_app.stock, surge_app.orders, now_ms, TIMEOUT_S)["checked"] == 0
