from decimal import Decimal
from typing import Any

import pytest

from functions.checkout.model import CheckoutRequest, Delivery, Item, Order
from functions.errors import ValidationFailed
from functions.ids import new_id

DELIVERY = {"address": "1 Khreshchatyk St, Kyiv", "phone": "+380 44 123 4567", "email": "buyer@example.com"}


def body(**overrides: Any) -> dict[str, Any]:
    return {"items": [{"product_id": 100, "quantity": 1}], "delivery": dict(DELIVERY), **overrides}


def test_a_valid_request_is_parsed() -> None:
    request = CheckoutRequest.from_body(
        body(items=[{"product_id": 100, "quantity": 2}, {"product_id": 1001, "quantity": Decimal("10")}])
    )
    assert request.items == (Item(100, 2), Item(1001, 10))
    assert request.delivery == Delivery(**DELIVERY)


def test_twenty_distinct_items_are_allowed() -> None:
    items = [{"product_id": 1000 + n, "quantity": 1} for n in range(20)]
    assert len(CheckoutRequest.from_body(body(items=items)).items) == 20


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        (None, "items"),
        ({"product_id": 100, "quantity": 1}, "items"),
        ([{"product_id": 1000 + n, "quantity": 1} for n in range(21)], "items"),
        ([{"product_id": 100, "quantity": 0}], "items[0].quantity"),
        ([{"product_id": 100, "quantity": 11}], "items[0].quantity"),
        ([{"product_id": 100, "quantity": Decimal("1.5")}], "items[0].quantity"),
        ([{"product_id": 100, "quantity": "2"}], "items[0].quantity"),
        ([{"product_id": 100, "quantity": True}], "items[0].quantity"),
        ([{"product_id": 100}], "items[0].quantity"),
        ([{"product_id": 0, "quantity": 1}], "items[0].product_id"),
        ([{"product_id": -4, "quantity": 1}], "items[0].product_id"),
        ([{"product_id": 2**31, "quantity": 1}], "items[0].product_id"),
        ([{"product_id": "100", "quantity": 1}], "items[0].product_id"),
        ([{"product_id": 100, "quantity": 1}, {"product_id": 100, "quantity": 2}], "items[1].product_id"),
        ([{"product_id": 100, "quantity": 1, "price": 1}], "price"),
        (["100"], "items[0]"),
    ],
)
def test_bad_items_are_refused_naming_the_field(items: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        CheckoutRequest.from_body(body(items=items))
    assert caught.value.details["field"] == field


@pytest.mark.parametrize(
    ("delivery", "field"),
    [
        (None, "delivery"),
        ("Kyiv", "delivery"),
        ({**DELIVERY, "email": "not-an-email"}, "delivery.email"),
        ({**DELIVERY, "email": "a b@example.com"}, "delivery.email"),
        ({**DELIVERY, "email": "a@localhost"}, "delivery.email"),
        ({**DELIVERY, "email": "@example.com"}, "delivery.email"),
        ({**DELIVERY, "email": 12}, "delivery.email"),
        ({**DELIVERY, "phone": "12345"}, "delivery.phone"),
        ({**DELIVERY, "phone": "call me maybe"}, "delivery.phone"),
        ({**DELIVERY, "phone": "+1 234 567 890 123 456 78"}, "delivery.phone"),
        ({**DELIVERY, "address": "   "}, "delivery.address"),
        ({**DELIVERY, "address": "x" * 501}, "delivery.address"),
        ({"phone": DELIVERY["phone"], "email": DELIVERY["email"]}, "delivery.address"),
        ({**DELIVERY, "name": "Olena"}, "name"),
    ],
)
def test_bad_delivery_is_refused_naming_the_field(delivery: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        CheckoutRequest.from_body(body(delivery=delivery))
    assert caught.value.details["field"] == field


def test_unknown_top_level_fields_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        CheckoutRequest.from_body(body(coupon="FREE"))
    assert caught.value.details["field"] == "coupon"


def order(**overrides: Any) -> Order:
    values: dict[str, Any] = {
        "id": new_id(),
        "items": (Item(100, 2, 49_900), Item(1001, 1, 1_999)),
        "total_cents": 2 * 49_900 + 1_999,
        "currency": "EUR",
        "delivery": Delivery(**DELIVERY),
        "accepted_ms": 1_800_000_000_000,
        "request_id": "r1",
    }
    return Order(**{**values, **overrides})


def test_an_order_survives_the_queue_and_totals_exactly() -> None:
    original = order()
    assert Order.from_message(original.to_message()) == original
    assert original.units == 3
    assert original.accepted_body() == {"order_id": original.id, "status": "pending", "total": "1017.99"}


@pytest.mark.parametrize(
    "broken",
    [
        order(total_cents=1),  # total must be the sum of the lines
        order(id="not-an-id"),
        order(items=(Item(100, 11, 100),), total_cents=1100),
        order(items=(Item(100, 1, 0),), total_cents=0),
        order(items=(Item(100, 1, 100), Item(100, 1, 100)), total_cents=200),
    ],
)
def test_malformed_order_messages_are_refused(broken: Order) -> None:
    with pytest.raises(ValueError):
        Order.from_message(broken.to_message())


def test_a_payment_message_is_not_an_order() -> None:
    with pytest.raises(ValueError):
        Order.from_message('{"type": "payment.accepted", "id": "x"}')
