"""MySqlOrders, the adapter itself, against a real MariaDB: the guard decides each order of a
batch in message order, all items or none, down to the last unit; what is stored is what
the order said, exactly; a redelivery keeps what was decided then."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from functions.adapters.mysql_orders import MySqlOrders
from functions.checkout.model import Delivery, Item, Order, Product, Settlement
from functions.ids import new_id

ACCEPTED_MS = 1_767_226_830_456  # 2026-01-01 00:20:30.456 UTC
DELIVERY = Delivery("1 Khreshchatyk St, Kyiv", "+380 44 123 4567", "buyer@example.com")


@pytest.fixture
def orders(surge_app: Any) -> MySqlOrders:
    orders = MySqlOrders(surge_app.db)
    orders.save_products([Product(1, "SKU-1", "One", 1_000, 5), Product(2, "SKU-2", "Two", 1_999, 3)])
    return orders


def order(*lines: tuple[int, int, int], **fields: Any) -> Order:
    items = tuple(Item(*line) for line in lines)
    total = sum(i.quantity * i.price_cents for i in items)
    return Order(new_id(ACCEPTED_MS), items, total, "EUR", DELIVERY, ACCEPTED_MS, **fields)


def stock(orders: MySqlOrders, product_id: int) -> int:
    product = orders.product(product_id)
    assert product is not None
    return product.stock


def test_an_empty_batch_settles_nothing(orders: MySqlOrders) -> None:
    assert orders.store([]) == [] and orders.existing([]) == set()


def test_the_guard_confirms_down_to_the_last_unit_and_no_further(orders: MySqlOrders) -> None:
    last = order((1, 5, 1_000))
    one_more = order((1, 1, 1_000))
    assert orders.store([last, one_more]) == [
        Settlement(last.id, "confirmed"),
        Settlement(one_more.id, "rejected", "out of stock: product 1 has 0 left, 1 ordered"),
    ]
    assert stock(orders, 1) == 0 and stock(orders, 2) == 3


def test_a_batch_is_decided_in_message_order_all_items_or_none(orders: MySqlOrders) -> None:
    first = order((2, 2, 1_999), (1, 1, 1_000))
    too_much = order((1, 1, 1_000), (2, 2, 1_999))  # product 2 has 1 left by now: nothing of it is taken
    unknown = order((1, 1, 1_000), (99, 1, 100))
    fits = order((1, 4, 1_000))
    settled = orders.store([first, too_much, unknown, fits])
    assert [s.status for s in settled] == ["confirmed", "rejected", "rejected", "confirmed"]
    assert settled[1].reason == "out of stock: product 2 has 1 left, 2 ordered"
    assert settled[2].reason == "product 99 is unknown"
    assert (stock(orders, 1), stock(orders, 2)) == (0, 1)


def test_an_order_the_sweep_gave_back_is_stored_rejected_with_its_reason_and_takes_nothing(
    orders: MySqlOrders,
) -> None:
    late = order((1, 2, 1_000))
    assert orders.store([late], {late.id: "reservation expired"}) == [
        Settlement(late.id, "rejected", "reservation expired")
    ]
    assert stock(orders, 1) == 5


def test_a_redelivery_keeps_what_was_decided_and_takes_nothing_twice(orders: MySqlOrders) -> None:
    placed = order((1, 2, 1_000))
    twice = orders.store([placed, placed])
    assert twice == [Settlement(placed.id, "confirmed")] * 2 and stock(orders, 1) == 3
    orders.save_products([Product(1, "SKU-1", "One", 1_000, 0)])  # none left now: still confirmed
    assert orders.store([placed], {placed.id: "reservation expired"}) == [Settlement(placed.id, "confirmed")]
    assert stock(orders, 1) == 0 and orders.existing([placed.id, new_id()]) == {placed.id}


def test_what_is_stored_is_what_the_order_said(orders: MySqlOrders, surge_app: Any) -> None:
    placed = order((2, 3, 1_999), (1, 1, 1_000), request_id="r-1", idempotency_key="cart-1")
    orders.store([placed])
    stored = orders.get(placed.id)
    assert stored is not None
    assert (stored.status, stored.reason, stored.total_cents, stored.currency) == ("confirmed", None, 6_997, "EUR")
    assert stored.items == (Item(1, 1, 1_000), Item(2, 3, 1_999))  # by product id
    assert stored.accepted_at == datetime(2026, 1, 1, 0, 20, 30, 456_000)
    assert isinstance(stored.stored_at, datetime)
    with surge_app.db.transaction() as cur:
        cur.execute("SELECT email, phone, address, request_id, idempotency_key FROM orders WHERE id = %s", (placed.id,))
        assert cur.fetchone() == (DELIVERY.email, DELIVERY.phone, DELIVERY.address, "r-1", "cart-1")
    assert orders.get(new_id()) is None


def test_the_catalogue_is_saved_and_overwritten_in_chunks(orders: MySqlOrders) -> None:
    catalogue = [Product(1000 + n, f"BULK-{n}", f"Bulk {n}", 100 + n, n % 7) for n in range(1_001)]
    assert orders.save_products(catalogue) == 1_001
    assert orders.products()[2:] == catalogue  # after products 1 and 2, by id
    orders.save_products([Product(1, "SKU-1b", "One b", 1_234, 9)])
    assert orders.product(1) == Product(1, "SKU-1b", "One b", 1_234, 9)
    assert orders.product(99_999) is None
