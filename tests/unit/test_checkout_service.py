"""CheckoutService on in-memory fakes of its ports: reservations all-or-none, the order
queued before the 202, idempotent retries, status, and the worker's settle step."""

from __future__ import annotations

import pytest

from functions.checkout.model import CheckoutRequest, Delivery, Item, Order, Product
from functions.checkout.service import CheckoutService
from functions.errors import DependencyDown, NotFound, OutOfStock
from functions.idempotency import id_for_key
from functions.ids import new_id
from tests.fakes import FakeIdempotency, FakeOrderStore, FakeQueue, FakeStockGate

NOW_MS = 1_767_225_600_000
QUEUE = "t-orders"
DELIVERY = Delivery("1 Main St", "+3312345678", "a@example.com")


def request(*items: tuple[int, int]) -> CheckoutRequest:
    return CheckoutRequest(tuple(Item(pid, qty) for pid, qty in items), DELIVERY)


class World:
    def __init__(self) -> None:
        self.stock = FakeStockGate()
        self.queue = FakeQueue()
        self.orders = FakeOrderStore()
        self.service = CheckoutService(
            self.stock, self.queue, self.orders, FakeIdempotency(), QUEUE, "EUR", clock_ms=lambda: NOW_MS
        )
        for pid, units, price in ((100, 10, 49_900), (1, 5, 1_000)):
            self.orders.catalogue[pid] = Product(pid, f"SKU-{pid}", f"P{pid}", price, units)
            self.stock.put(pid, units, price)

    def queued(self) -> list[Order]:
        return [Order.from_message(body) for body in self.queue.bodies(QUEUE)]

    def available(self, pid: int) -> int | None:
        return self.stock.available([pid])[pid]

    def settle(self) -> list[str]:
        return self.service.settle_batch([(f"m{n}", body) for n, body in enumerate(self.queue.bodies(QUEUE))])


@pytest.fixture
def world() -> World:
    return World()


def test_a_checkout_reserves_every_item_and_queues_the_priced_order(world: World) -> None:
    body = world.service.checkout(request((100, 2), (1, 3)), request_id="r-1")
    assert body == {"order_id": body["order_id"], "status": "pending", "total": "1028.00"}
    [order] = world.queued()
    assert order.id == body["order_id"] and order.request_id == "r-1" and order.total_cents == 102_800
    assert [(i.product_id, i.quantity, i.price_cents) for i in order.items] == [(100, 2, 49_900), (1, 3, 1_000)]
    assert (world.available(100), world.available(1)) == (8, 2)
    assert world.stock.pending() == {100: 2, 1: 3}


def test_one_short_item_reserves_nothing_and_queues_nothing(world: World) -> None:
    with pytest.raises(OutOfStock) as raised:
        world.service.checkout(request((100, 2), (1, 6)), request_id="r-1")
    assert raised.value.details == {"product_id": 1, "available": 5}
    assert (world.available(100), world.available(1)) == (10, 5)
    assert world.queue.sent == [] and world.stock.markers == {}


def test_a_product_redis_lost_is_loaded_from_mysql_under_its_lock(world: World) -> None:
    del world.stock.products[1]
    world.service.checkout(request((1, 1)), request_id="r-1")
    assert world.stock.locked == [1] and world.available(1) == 4
    with pytest.raises(NotFound):
        world.service.checkout(request((999, 1)), request_id="r-2")


def test_when_sqs_refuses_the_reservation_is_given_back(world: World) -> None:
    world.queue.down = True
    with pytest.raises(DependencyDown):
        world.service.checkout(request((100, 4)), request_id="r-1")
    assert world.available(100) == 10 and world.stock.pending() == {} and world.stock.markers == {}


def test_a_retry_with_the_same_key_reserves_once(world: World) -> None:
    first = world.service.checkout(request((100, 1)), request_id="r-1", idempotency_key="cart-7")
    again = world.service.checkout(request((100, 1)), request_id="r-2", idempotency_key="cart-7")
    assert again == first and first["order_id"] == id_for_key("checkout", "cart-7")
    assert world.available(100) == 9 and len(world.queued()) == 1


def test_a_retry_whose_first_attempt_reserved_but_never_answered_queues_the_same_order(world: World) -> None:
    order_id = id_for_key("checkout", "cart-8")
    world.stock.reserve(order_id, (Item(100, 3),), "EUR", NOW_MS - 5_000)  # then the process died
    body = world.service.checkout(request((100, 3)), request_id="r-2", idempotency_key="cart-8")
    assert body["order_id"] == order_id and body["total"] == "1497.00"
    [order] = world.queued()
    assert order.accepted_ms == NOW_MS - 5_000 and order.items[0].price_cents == 49_900
    assert world.available(100) == 7  # reserved once


def test_settling_confirms_in_mysql_then_in_redis(world: World) -> None:
    body = world.service.checkout(request((100, 2)), request_id="r-1")
    assert world.settle() == []
    assert world.orders.catalogue[100].stock == 8
    assert world.stock.pending() == {} and world.available(100) == 8
    assert world.service.status(body["order_id"]) == {
        "order_id": body["order_id"],
        "status": "confirmed",
        "total": "998.00",
    }


def test_mysql_refusing_an_order_rejects_it_and_gives_its_units_back(world: World) -> None:
    world.orders.catalogue[100] = Product(100, "SKU-100", "P100", 49_900, 1)  # Redis believed 10
    body = world.service.checkout(request((100, 2)), request_id="r-1")
    assert world.settle() == []
    status = world.service.status(body["order_id"])
    assert status["status"] == "rejected" and "has 1 left" in status["reason"]
    assert world.available(100) == 10 and world.stock.pending() == {}


def test_a_malformed_message_fails_alone_and_mysql_down_fails_the_batch(world: World) -> None:
    world.service.checkout(request((1, 1)), request_id="r-1")
    good = world.queue.bodies(QUEUE)[0]
    assert world.service.settle_batch([("bad", "{}"), ("m1", good)]) == ["bad"]
    world.orders.down = True
    assert world.service.settle_batch([("m2", good), ("bad", "x")]) == ["bad", "m2"]


def test_redis_down_after_the_commit_brings_the_order_back_and_redelivery_settles_it_once(world: World) -> None:
    world.service.checkout(request((100, 2)), request_id="r-1")
    world.stock.down = True
    assert world.settle() == ["m0"]
    world.stock.down = False
    assert world.settle() == []
    assert world.orders.catalogue[100].stock == 8 and world.stock.pending() == {} and world.available(100) == 8


def test_status_falls_back_to_mysql_when_redis_lost_the_marker(world: World) -> None:
    body = world.service.checkout(request((1, 1)), request_id="r-1")
    world.settle()
    world.stock.markers.clear()
    assert world.service.status(body["order_id"])["status"] == "confirmed"
    world.stock.down = True
    assert world.service.status(body["order_id"])["total"] == "10.00"
    with pytest.raises(NotFound):
        world.service.status(new_id(NOW_MS))


def test_a_product_is_shown_from_redis_and_loaded_when_missing(world: World) -> None:
    del world.stock.products[100]
    assert world.service.product(100) == {
        "id": 100,
        "sku": "SKU-100",
        "name": "P100",
        "price": "499.00",
        "currency": "EUR",
        "available": 10,
    }
    with pytest.raises(NotFound):
        world.service.product(12345)
