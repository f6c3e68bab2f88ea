import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from functions.checkout.model import (
    AlreadyReserved,
    CheckoutRequest,
    Claim,
    Delivery,
    Held,
    Item,
    Missing,
    Order,
    Product,
    Reserved,
    Settlement,
    Short,
    StoredOrder,
)
from functions.errors import ValidationFailed
from functions.ids import new_id
from functions.money import MAX_AMOUNT_CENTS

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
        ([{"product_id": 100, "quantity": Decimal("2.4")}], "items[0].quantity"),  # above its integral part
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


def test_the_product_ids_from_1_to_the_int_column_maximum_are_accepted() -> None:
    items = [{"product_id": 1, "quantity": 1}, {"product_id": 2**31 - 1, "quantity": 1}]
    assert CheckoutRequest.from_body(body(items=items)).items == (Item(1, 1), Item(2**31 - 1, 1))


def test_a_requested_line_has_no_price_until_the_stock_gate_fixes_it() -> None:
    [item] = CheckoutRequest.from_body(body()).items
    assert item.price_cents == 0


# 32 characters, 15 digits: the longest phone allowed
LONGEST_PHONE = "+1 (234) 567 - 890 - 12 - 34 - 5"
# 254 characters, a 64-character local part and a domain longer than 64
LONGEST_EMAIL = "l" * 64 + "@" + "d" * 100 + "." + "e" * 84 + ".com"


@pytest.mark.parametrize(
    "changes",
    [
        {"address": "x" * 500},
        {"address": "1 Rd."},  # 5 characters
        {"phone": "1234567"},  # 7 digits
        {"phone": LONGEST_PHONE},
        {"phone": "123456789012345"},
        {"email": LONGEST_EMAIL},
        {"email": "a@" + "d" * 70 + ".com"},  # the 64 limit is the local part's, not the domain's
    ],
)
def test_delivery_fields_at_their_limits_are_accepted(changes: dict[str, str]) -> None:
    assert len(LONGEST_PHONE) == 32 and sum(c.isdigit() for c in LONGEST_PHONE) == 15 and len(LONGEST_EMAIL) == 254
    delivery = CheckoutRequest.from_body(body(delivery={**DELIVERY, **changes})).delivery
    assert dataclasses.asdict(delivery) == {**DELIVERY, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"address": "1 Rd"}, "delivery.address must be 5-500 printable characters"),
        ({"address": "x" * 501}, "delivery.address must be 5-500 printable characters"),
        ({"phone": "123456"}, "delivery.phone must be 7-32 printable characters"),
        ({"phone": LONGEST_PHONE + "9"}, "delivery.phone must be 7-32 printable characters"),
        ({"phone": "12-34-56"}, "delivery.phone must be a phone number with 7-15 digits"),
        ({"phone": "1234567890123456"}, "delivery.phone must be a phone number with 7-15 digits"),
        ({"email": "ab"}, "delivery.email must be 3-254 printable characters"),
        ({"email": "x" + LONGEST_EMAIL}, "delivery.email must be 3-254 printable characters"),
        ({"email": "l" * 65 + "@example.com"}, "delivery.email is not a valid email address"),
    ],
)
def test_delivery_fields_past_their_limits_are_refused_saying_the_rule(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        CheckoutRequest.from_body(body(delivery={**DELIVERY, **changes}))
    assert str(caught.value) == message


def test_order_messages_at_the_limits_are_accepted() -> None:
    edge = order(items=(Item(100, 1, MAX_AMOUNT_CENTS),), total_cents=MAX_AMOUNT_CENTS, accepted_ms=1)
    assert Order.from_message(edge.to_message()) == edge


@pytest.mark.parametrize(
    "broken",
    [
        order(items=(), total_cents=0),
        order(items=(Item(100, 0, 100),), total_cents=0),
        order(items=(Item(100, 1, -100),), total_cents=-100),
        order(items=(Item(100, 1, MAX_AMOUNT_CENTS + 1),), total_cents=MAX_AMOUNT_CENTS + 1),
        order(total_cents=101_799 + 1),  # more than its lines, as well as less
        order(accepted_ms=0),
        order(accepted_ms=-1),
    ],
)
def test_order_messages_past_the_limits_are_refused(broken: Order) -> None:
    with pytest.raises(ValueError, match="invalid fields"):
        Order.from_message(broken.to_message())


@pytest.mark.parametrize("kind", ["invoice.accepted", "payment.accepted", "order.accepted.v2", None])
def test_a_message_of_another_type_is_not_an_order(kind: str | None) -> None:
    # "invoice…" sorts before "order.accepted", the others after it: all refused
    fields = json.loads(order().to_message())
    with pytest.raises(ValueError, match="not an order message"):
        Order.from_message(json.dumps({**fields, "type": kind}))


def test_a_stored_order_tells_its_reason_only_when_it_has_one() -> None:
    def stored(reason: str | None) -> StoredOrder:
        at = datetime(2026, 1, 1)
        return StoredOrder(new_id(), "rejected", reason, 100, "EUR", (Item(100, 1, 100),), at, at)

    assert stored("out of stock").body()["reason"] == "out of stock"
    assert "reason" not in stored(None).body()


def test_a_reservation_totals_only_lines_it_has_a_price_for() -> None:
    assert Reserved((100, 250)).total((Item(1, 2), Item(2, 1))) == 450
    with pytest.raises(ValueError):
        Reserved((100,)).total((Item(1, 2), Item(2, 1)))


@pytest.mark.parametrize(
    "value",
    [
        Product(100, "HOT-100", "Console", 49_900, 10),
        Item(100, 1),
        Delivery(**DELIVERY),
        CheckoutRequest((Item(100, 1),), Delivery(**DELIVERY)),
        order(),
        StoredOrder(new_id(), "confirmed", None, 100, "EUR", (), datetime(2026, 1, 1), None),
        Settlement(new_id(), "confirmed"),
        Held(new_id(), False, None),
        Claim("pending"),
        Reserved((100,)),
        Short(100, 0),
        Missing(100),
        AlreadyReserved("pending", 100),
    ],
    ids=lambda value: type(value).__name__,
)
def test_the_checkout_values_are_immutable(value: object) -> None:
    # an order is shared by the gate, the queue message and the store: none may change it under the others
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, getattr(value, field))
