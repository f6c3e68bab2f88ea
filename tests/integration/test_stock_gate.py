"""The Redis stock gate (lua/reserve_stock.lua and friends) against a real Redis."""

from __future__ import annotations

import threading
import time
from typing import Any

from functions.checkout.model import AlreadyReserved, Delivery, Item, Missing, Order, Reserved, Short
from functions.ids import new_id
from tests.checkout_support import DELIVERY, available
from tests.support import hot_figures

NOW_MS = int(time.time() * 1000)


def reserve(surge_app: Any, *lines: tuple[int, int], order_id: str | None = None) -> Any:
    return surge_app.stock.reserve(order_id or new_id(), [Item(p, q) for p, q in lines], "EUR", NOW_MS)


def as_order(order_id: str, reservation: Reserved, *lines: tuple[int, int]) -> Order:
    items = tuple(Item(p, q, price) for (p, q), price in zip(lines, reservation.prices_cents, strict=True))
    return Order(order_id, items, sum(i.quantity * i.price_cents for i in items), "EUR", Delivery(**DELIVERY), NOW_MS)


def test_multi_item_order_is_all_or_nothing(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=2, products=2, regular_stock=5)
    short = reserve(surge_app, (1001, 1), (1002, 5), (100, 3))
    assert short == Short(product_id=100, available=2)
    # nothing of the order was taken, not even the items listed before the short one
    assert [available(surge_app, p) for p in (100, 1001, 1002)] == [2, 5, 5]
    assert surge_app.stock.pending() == {}

    ok = reserve(surge_app, (1001, 1), (1002, 5), (100, 2))
    assert isinstance(ok, Reserved) and ok.prices_cents[2] == 49_900
    assert [available(surge_app, p) for p in (100, 1001, 1002)] == [0, 4, 0]
    assert surge_app.stock.pending() == {100: 2, 1001: 1, 1002: 5}
    assert hot_figures(surge_app).sold_out == (2, [100, 1002])


def test_concurrent_buyers_never_take_stock_below_zero(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=25, products=1)
    taken: list[int] = []
    refused: list[Short] = []
    lock = threading.Lock()

    def buyer(n: int) -> None:
        qty = 1 + n % 3
        result = reserve(surge_app, (1001, 1), (100, qty))
        with lock:
            (taken.append(qty) if isinstance(result, Reserved) else refused.append(result))

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    left = available(surge_app, 100)
    assert left is not None and left >= 0
    assert sum(taken) + left == 25
    assert all(s.product_id in (100, 1001) and s.available >= 0 for s in refused)
    assert available(surge_app, 1001) == 100 - len(taken)  # the regular item followed the hot one exactly


def test_missing_product_is_reported_not_guessed(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=5, products=1)
    assert reserve(surge_app, (1001, 1), (424242, 1)) == Missing(424242)
    assert available(surge_app, 1001) == 100


def test_same_order_id_reserves_once(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=5, products=0)
    order_id = new_id()
    first = reserve(surge_app, (100, 2), order_id=order_id)
    again = reserve(surge_app, (100, 2), order_id=order_id)
    assert isinstance(first, Reserved)
    assert again == AlreadyReserved(status="pending", total_cents=2 * 49_900)
    assert available(surge_app, 100) == 3


def test_release_gives_back_once_and_confirm_clears_pending(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=5, products=0)
    rejected_id, confirmed_id = new_id(), new_id()
    rejected = as_order(rejected_id, reserve(surge_app, (100, 2), order_id=rejected_id), (100, 2))
    confirmed = as_order(confirmed_id, reserve(surge_app, (100, 3), order_id=confirmed_id), (100, 3))
    assert available(surge_app, 100) == 0 and surge_app.stock.pending() == {100: 5}

    assert surge_app.stock.release(rejected, "rejected", "out of stock") is True
    assert surge_app.stock.release(rejected, "rejected", "out of stock") is False  # a redelivery
    surge_app.stock.confirm_many([confirmed])
    surge_app.stock.confirm_many([confirmed])
    assert available(surge_app, 100) == 2
    assert surge_app.stock.pending() == {}
    assert surge_app.stock.marker(rejected_id)["status"] == "rejected"
    assert surge_app.stock.marker(rejected_id)["reason"] == "out of stock"
    assert surge_app.stock.marker(confirmed_id)["status"] == "confirmed"
    assert hot_figures(surge_app).sold_out == (0, [])
    assert hot_figures(surge_app).best_sellers == [(100, 3, 2)]


def test_a_lost_key_is_loaded_net_of_pending_reservations(surge_app: Any) -> None:
    [hot] = [p for p in load_catalogue_products(surge_app) if p.id == 100]
    reserve(surge_app, (100, 4))
    surge_app.redis.delete(surge_app.stock.product_key(100))
    assert surge_app.stock.load(hot) == (None, 6)  # 10 in MySQL, 4 still pending
    assert surge_app.stock.load(hot) == (6, 6)  # "missing" mode never overwrites a live key


def load_catalogue_products(surge_app: Any) -> list[Any]:
    surge_app.operator.load_catalogue(hot_stock=10, products=0)
    return surge_app.orders.products()
