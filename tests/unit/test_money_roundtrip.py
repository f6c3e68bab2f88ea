"""Every amount from 0.01 to 1,000,000.00, at cent steps, round-trips exactly: as the client
sends it (JSON number or string), as integer cents, in the queue message, in the storage
format (DECIMAL(12,2)) and in the API answer. A float anywhere on the way breaks some of
them (0.29 * 100 == 28.999999999999996), so the amounts are sampled over the whole range."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.adapters import mysql_orders, mysql_payments
from functions.checkout.model import Delivery, Item, Order
from functions.http.request import parse_json
from functions.money import MAX_AMOUNT_CENTS, format_cents, parse_amount
from functions.payments.model import Payment, PaymentRequest

CENTS = st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS)
ORDER_ID = "01M7YA3ZKZHMZ04NK7EFV7WBTS"


@settings(max_examples=2000, deadline=None)
@given(cents=CENTS)
@example(cents=29)  # 0.29: the classic float casualty
@example(cents=1)
@example(cents=MAX_AMOUNT_CENTS)
@example(cents=1_000_005)
def test_every_cent_amount_round_trips_exactly(cents: int) -> None:
    text = format_cents(cents)
    assert Decimal(text) * 100 == cents  # the string is the amount, exactly
    # what a client sends: a string, or a JSON number (parsed as Decimal, never float)
    assert parse_amount(text) == cents
    for raw in (f'{{"amount": {text}}}', f'{{"amount": "{text}"}}'):
        assert PaymentRequest.from_body(parse_json(raw, 1024), "EUR").amount_cents == cents
    if cents % 100 == 0:
        assert parse_amount(cents // 100) == cents  # a whole JSON number arrives as int
    # the queue message and the API answer
    payment = Payment.from_message(Payment(ORDER_ID, cents, "EUR", 1_700_000_000_000).to_message())
    assert payment.amount_cents == cents and payment.accepted_body()["amount"] == text
    # the storage format: DECIMAL(12,2) written from cents, read back into cents
    stored = mysql_orders._money(cents)
    assert stored == Decimal(text) and f"{stored:.2f}" == text
    assert mysql_orders._cents(stored) == mysql_payments._cents(stored) == cents
    assert mysql_payments._cents(Decimal(text)) == cents  # what the driver hands back
    assert format_cents(mysql_orders._cents(Decimal(text))) == text


@settings(max_examples=300, deadline=None)
@given(
    prices=st.lists(st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS // 10), min_size=1, max_size=20, unique=True)
)
def test_an_order_total_is_the_exact_sum_of_its_lines(prices: list[int]) -> None:
    items = tuple(Item(1000 + n, 1 + n % 10, price) for n, price in enumerate(prices))
    total = sum(i.quantity * i.price_cents for i in items)
    delivery = Delivery("1 Main St, Kyiv", "+380 44 123 4567", "a@example.com")
    order = Order.from_message(Order(ORDER_ID, items, total, "EUR", delivery, 1_700_000_000_000).to_message())
    assert order.total_cents == total
    assert order.accepted_body()["total"] == format_cents(total)
    assert mysql_orders._cents(mysql_orders._money(total)) == total
