"""The payment's queue form: what the worker accepts from the payments queue, and what not."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import pytest

from functions.ids import new_id
from functions.money import MAX_AMOUNT_CENTS
from functions.payments.model import Payment, PaymentRequest, StoredPayment

NOW_MS = 1_767_225_600_000


def message(**overrides: Any) -> str:
    fields = json.loads(Payment(new_id(NOW_MS), 1250, "EUR", NOW_MS, "r-1", "k-1").to_message())
    return json.dumps({**fields, **overrides})


def test_a_payment_survives_the_queue() -> None:
    payment = Payment(new_id(NOW_MS), MAX_AMOUNT_CENTS, "USD", 1, "r-1", "k-1")
    assert Payment.from_message(payment.to_message()) == payment


@pytest.mark.parametrize("kind", ["order.accepted", "payment.accepted.v2", "Payment.accepted", None])
def test_a_message_of_another_type_is_not_a_payment(kind: str | None) -> None:
    # "order.accepted" sorts before "payment.accepted", "payment.accepted.v2" after it: both refused
    with pytest.raises(ValueError, match="not a payment message"):
        Payment.from_message(message(type=kind))


@pytest.mark.parametrize(
    "overrides",
    [
        {"accepted_ms": -1},  # before the epoch: no gateway minted it
        {"accepted_ms": 0},
        {"amount_cents": 0},
        {"amount_cents": -1},
        {"amount_cents": MAX_AMOUNT_CENTS + 1},
        {"amount_cents": 12.5},
        {"currency": "XXX"},
        {"id": "not-an-id"},
    ],
)
def test_a_payment_message_with_an_invalid_field_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid fields"):
        Payment.from_message(message(**overrides))


@pytest.mark.parametrize(
    "value",
    [
        PaymentRequest(100, "EUR"),
        Payment(new_id(NOW_MS), 100, "EUR", NOW_MS),
        StoredPayment(new_id(NOW_MS), 100, "EUR", datetime(2026, 1, 1), datetime(2026, 1, 1)),
    ],
    ids=lambda value: type(value).__name__,
)
def test_payments_are_values_no_one_can_change(value: object) -> None:
    # shared between the queue, the counters and the ledger: a change would reach all three
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, getattr(value, field))
