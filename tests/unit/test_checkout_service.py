"""CheckoutService on in-memory fakes of its ports: reservations all-or-none, the order
queued before the 202, idempotent retries, status, and the worker's settle step."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions.batching import Batching, coalescing
from functions.checkout.model import CheckoutRequest, Delivery, Item, Missing, Order, Product, Reservation, Settlement
from functions.checkout.service import CheckoutService
from functions.errors import DependencyDown, NotFound, OutOfStock, ServiceUnavailable
from functions.idempotency import id_for_key
from functions.ids import new_id
from tests.fakes import FakeIdempotency, FakeOrderStore, FakeQueue, FakeStockGate, count_calls, fail_next
from tests.logs import captured_logs

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
        self.now_ms = NOW_MS  # the service's clock: a test may move it
        self.service = CheckoutService(
            self.stock, self.queue, self.orders, FakeIdempotency(), QUEUE, "EUR", clock_ms=lambda: self.now_ms
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
    with captured_logs() as lines, pytest.raises(DependencyDown):
        world.service.checkout(request((100, 4)), request_id="r-1")
    assert world.available(100) == 10 and world.stock.pending() == {} and world.stock.markers == {}
    assert [line["message"] for line in lines if line["level"] == "WARNING"] == [
        "order not enqueued; reservation released"
    ]


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


def test_a_batch_is_confirmed_in_redis_in_one_round_trip(world: World) -> None:
    """One call confirms every order MySQL confirmed; the rejected one got its units back."""
    world.orders.catalogue[1] = Product(1, "SKU-1", "P1", 1_000, 0)  # Redis believed 5
    for items in ((100, 1), (1, 1), (100, 2)):
        world.service.checkout(request(items), request_id="r-1")
    assert world.settle() == []
    assert world.stock.confirm_calls == 1
    assert [settled.status for _, settled in world.orders.orders.values()] == ["confirmed", "rejected", "confirmed"]
    assert world.stock.pending() == {} and world.available(1) == 5


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


def test_the_request_id_rides_on_the_queued_message(world: World) -> None:
    world.service.checkout(request((1, 1)), request_id="r-1")
    assert world.queue.sent[0].attributes == {"request_id": "r-1"}


def test_the_request_id_is_never_taken_by_position(world: World) -> None:
    with pytest.raises(TypeError):
        world.service.checkout(request((1, 1)), "r-1")  # type: ignore[call-arg]


def test_without_a_clock_the_order_is_accepted_now() -> None:
    stock, queue, orders = FakeStockGate(), FakeQueue(), FakeOrderStore()
    stock.put(1, 5)
    service = CheckoutService(stock, queue, orders, FakeIdempotency(), QUEUE, "EUR")
    before = int(time.time() * 1000)
    service.checkout(request((1, 1)), request_id="r-1")
    [order] = [Order.from_message(body) for body in queue.bodies(QUEUE)]
    assert before <= order.accepted_ms <= int(time.time() * 1000)


class LosingStockGate(FakeStockGate):
    """Redis loses the product again right after each load, ``losses`` times."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def _reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        if self.losses > 0:
            self.losses -= 1
            self.products.pop(items[0].product_id, None)
            return Missing(items[0].product_id)
        return super()._reserve(order_id, items, currency, accepted_ms)


def losing_world(losses: int) -> World:
    world = World()
    world.stock = LosingStockGate(losses)
    world.stock.put(1, 5, 1_000)
    world.service = CheckoutService(
        world.stock, world.queue, world.orders, FakeIdempotency(), QUEUE, "EUR", clock_ms=lambda: NOW_MS
    )
    return world


def test_a_product_lost_twice_while_loading_is_still_reserved_on_the_third_round() -> None:
    world = losing_world(losses=2)
    assert world.service.checkout(request((1, 1)), request_id="r-1")["status"] == "pending"


def test_a_product_lost_on_every_round_is_a_503_after_three_rounds() -> None:
    world = losing_world(losses=100)
    reserves = count_calls(world.stock, "reserve_many")
    with pytest.raises(ServiceUnavailable) as raised:
        world.service.checkout(request((1, 1)), request_id="r-1")
    assert reserves == [3] and raised.value.retry_after == 1 and world.queue.sent == []


def test_a_retry_of_a_settled_order_answers_its_status_and_queues_nothing(world: World) -> None:
    confirmed = world.service.checkout(request((100, 1)), request_id="r-1", idempotency_key="k-confirmed")
    world.orders.catalogue[1] = Product(1, "SKU-1", "P1", 1_000, 0)  # MySQL has none: rejected
    rejected = world.service.checkout(request((1, 1)), request_id="r-2", idempotency_key="k-rejected")
    assert world.settle() == []
    world.queue.sent.clear()
    # the keyed answers were lost (the first attempts never answered): the stock gate still knows the orders
    again = CheckoutService(world.stock, world.queue, world.orders, FakeIdempotency(), QUEUE, "EUR")
    for key, first, status, line in (
        ("k-confirmed", confirmed, "confirmed", (100, 1)),
        ("k-rejected", rejected, "rejected", (1, 1)),
    ):
        retry = again.checkout(request(line), request_id="r-3", idempotency_key=key)
        assert retry == {"order_id": first["order_id"], "status": status, "total": first["total"]}
    assert world.queue.sent == []


def test_a_retry_while_the_marker_lost_its_lines_is_a_503(world: World) -> None:
    order_id = id_for_key("checkout", "cart-9")
    world.stock.reserve(order_id, (Item(100, 1),), "EUR", NOW_MS)
    world.stock.markers[order_id]["items"] = ""  # the worker is settling it right now
    with pytest.raises(ServiceUnavailable) as raised:
        world.service.checkout(request((100, 1)), request_id="r-2", idempotency_key="cart-9")
    assert raised.value.retry_after == 1


def test_with_sqs_and_redis_down_the_client_hears_about_sqs(world: World) -> None:
    world.queue.down = True
    fail_next(world.stock, "release")
    with pytest.raises(DependencyDown) as raised:
        world.service.checkout(request((100, 1)), request_id="r-1")
    assert raised.value.dependency == "sqs"


def test_a_bad_order_id_is_not_found_naming_at_most_40_characters(world: World) -> None:
    with pytest.raises(NotFound) as raised:
        world.service.status("x" * 100)
    assert str(raised.value) == f"no order with id {'x' * 40!r}"


def test_a_product_redis_cannot_keep_is_a_503(world: World) -> None:
    class Forgetful(FakeStockGate):
        def load(self, product: Product, force: bool = False) -> tuple[int | None, int]:
            return None, product.stock  # answered, but the key is gone again

    world.stock = Forgetful()
    world.service = CheckoutService(world.stock, world.queue, world.orders, FakeIdempotency(), QUEUE, "EUR")
    with pytest.raises(ServiceUnavailable) as raised:
        world.service.product(100)
    assert raised.value.retry_after == 1


class ShortAnsweringStore(FakeOrderStore):
    def store(self, orders: Sequence[Order], refused: Mapping[str, str] | None = None) -> list[Settlement]:
        return super().store(orders, refused)[:-1]


def test_a_store_answering_for_fewer_orders_than_it_got_is_an_error(world: World) -> None:
    world.service.checkout(request((100, 1)), request_id="r-1")
    world.service.checkout(request((1, 1)), request_id="r-2")
    world.orders = ShortAnsweringStore()
    with pytest.raises(ValueError):
        CheckoutService(world.stock, world.queue, world.orders, FakeIdempotency(), QUEUE, "EUR").settle_batch(
            [(f"m{n}", body) for n, body in enumerate(world.queue.bodies(QUEUE))]
        )


def test_settling_logs_each_order_with_its_request_id_and_the_batch_at_info(world: World) -> None:
    world.orders.catalogue[1] = Product(1, "SKU-1", "P1", 1_000, 0)  # MySQL has none: rejected
    world.service.checkout(request((100, 1)), request_id="r-confirmed")
    world.service.checkout(request((1, 1)), request_id="r-rejected")
    [confirmed, rejected] = world.queue.bodies(QUEUE)
    with captured_logs("DEBUG") as lines:
        world.service.settle_batch([("m1", confirmed), ("m2", rejected)])
    levels = {line["message"]: (line["level"], line.get("correlation_id")) for line in lines}
    assert levels["order confirmed"] == ("DEBUG", "r-confirmed")
    assert levels["order rejected"] == ("WARNING", "r-rejected")
    assert levels["order batch settled"][0] == "INFO"


def test_a_batch_of_only_malformed_messages_logs_no_batch_line(world: World) -> None:
    with captured_logs("DEBUG") as lines:
        assert world.service.settle_batch([("bad", "{}")]) == ["bad"]
    assert not any(line["message"] == "order batch settled" for line in lines)


def test_an_order_whose_body_has_no_request_id_logs_the_attribute(world: World) -> None:
    world.service.checkout(request((100, 1)), request_id="")
    [body] = world.queue.bodies(QUEUE)
    with captured_logs("DEBUG") as lines:
        world.service.settle_batch([("m1", body)], {"m1": "r-attr"})
    assert [line.get("correlation_id") for line in lines if line["message"] == "order confirmed"] == ["r-attr"]


def test_an_order_the_sweep_gave_back_is_stored_rejected(world: World) -> None:
    world.service.checkout(request((100, 1)), request_id="r-1")
    [order] = world.queued()
    world.stock.release(order, "rejected", "reservation expired")  # the sweep, before the worker
    assert world.settle() == []
    assert world.orders.orders[order.id][1].status == "rejected"
    assert world.orders.catalogue[100].stock == 10


BATCHED: Batching[Any, Any] = coalescing(500, 1, "sqs")  # a window far longer than a test needs


def test_concurrent_checkouts_share_one_reservation_call_and_one_sqs_batch_each_decided_in_turn() -> None:
    world = World()
    world.stock.put(1, 2, 1_000)  # two units for four buyers
    queue = FakeQueue()
    entries: list[str] = []

    def first_entry(body: str, attributes: dict[str, str]) -> bool:  # whichever buyer's order it is
        entries.append(body)
        return len(entries) == 1

    queue.refuses = first_entry
    service = CheckoutService(
        world.stock, queue, world.orders, FakeIdempotency(), QUEUE, "EUR", clock_ms=lambda: NOW_MS,
        batching=BATCHED,
    )  # fmt: skip

    def buy(n: int) -> dict[str, object] | Exception:
        try:
            return service.checkout(request((1, 1)), request_id=f"r-{n}")
        except (OutOfStock, DependencyDown) as exc:
            return exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(buy, range(1, 5)))
    assert world.stock.reserve_calls == 1, "one Redis round trip for the four checkouts"
    assert queue.batch_sizes == [2], "the two that got stock went to SQS together"
    refused = [a for a in answers if isinstance(a, DependencyDown)]
    accepted = [a for a in answers if isinstance(a, dict)]
    short = [a for a in answers if isinstance(a, OutOfStock)]
    assert len(refused) == 1 and len(accepted) == 1 and len(short) == 2, answers
    assert [o.id for o in (Order.from_message(b) for b in queue.bodies(QUEUE))] == [accepted[0]["order_id"]]
    assert world.available(1) == 1, "the unit of the order SQS refused is back on sale"


def test_mysql_is_asked_once_a_second_about_an_unknown_product(world: World) -> None:
    """A burst of checkouts for a product that does not exist is answered 404 from memory after
    the first MySQL lookup (each lookup holds the product's load lock: one after another, they
    ran at a few hundred a second); a product added to MySQL is found once the second is over."""
    lookups, locks = count_calls(world.orders, "product"), count_calls(world.stock, "lock")
    for n in range(5):
        with pytest.raises(NotFound):
            world.service.checkout(request((7, 1)), request_id=f"r-{n}")
    with pytest.raises(NotFound):
        world.service.product(7)
    assert lookups == [1] and locks == [1]  # nor is the product's load lock taken again
    world.orders.catalogue[7] = Product(7, "SKU-7", "P7", 1_000, 3)
    world.now_ms += 999
    with pytest.raises(NotFound):
        world.service.checkout(request((7, 1)), request_id="r-still-remembered")
    world.now_ms += 1
    assert world.service.checkout(request((7, 1)), request_id="r-found")["status"] == "pending"
    assert lookups == [2]


def test_a_retry_that_sqs_refuses_again_is_logged_and_keeps_its_reservation(world: World) -> None:
    order_id = id_for_key("checkout", "cart-10")
    world.stock.reserve(order_id, (Item(100, 2),), "EUR", NOW_MS - 5_000)  # then the process died
    world.queue.down = True
    with captured_logs() as lines, pytest.raises(DependencyDown):
        world.service.checkout(request((100, 2)), request_id="r-2", idempotency_key="cart-10")
    [warning] = [line for line in lines if line["level"] == "WARNING"]
    assert warning["message"] == "order not enqueued; reservation kept for a retry" and "sqs" in warning["reason"]
    assert warning["order_id"] == order_id
    # its first message may be in SQS already: the units stay reserved for it
    assert world.available(100) == 8 and world.stock.markers[order_id]["status"] == "pending"


def test_an_unknown_product_is_asked_about_again_once_the_second_is_over(world: World) -> None:
    lookups = count_calls(world.orders, "product")
    with pytest.raises(NotFound):
        world.service.product(7)
    world.now_ms += 5_000  # long past the second, not just at its end
    with pytest.raises(NotFound):
        world.service.product(7)
    assert lookups == [2]


def test_every_unknown_product_is_remembered_until_the_memory_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.checkout import service as checkout_service

    # more than 256: CPython's small integers are one object each, a larger count is not
    monkeypatch.setattr(checkout_service, "MISSING_PRODUCTS_KEPT", 300)
    world = World()
    lookups = count_calls(world.orders, "product")
    unknown = range(1_000, 1_300)
    for _ in range(2):
        for pid in unknown:
            with pytest.raises(NotFound):
                world.service.product(pid)
    assert lookups == [300], "each asked once: the memory holds all 300"
    with pytest.raises(NotFound):
        world.service.product(2_000)  # the 301st makes room by forgetting the others
    with pytest.raises(NotFound):
        world.service.product(1_000)
    assert lookups == [302]
    assert len(world.service._missing) <= 300


def test_an_unknown_product_is_believed_missing_for_the_whole_second_whatever_the_clock_reads() -> None:
    # a lookup at the last millisecond before a multiple of 1,024: the next one carries into the
    # higher bits, which a time span computed from the bits rather than by subtraction would notice
    for since in (NOW_MS, NOW_MS + 1_023):
        world = World()
        lookups = count_calls(world.orders, "product")
        for later in (0, 1, 500, 999):
            world.now_ms = since + later
            with pytest.raises(NotFound):
                world.service.product(7)
        assert lookups == [1], since
