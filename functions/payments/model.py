"""The payment as the domain sees it, and its wire form on the payments queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.errors import ValidationFailed
from functions.ids import is_id
from functions.money import CURRENCIES, MAX_AMOUNT_CENTS, format_cents, parse_amount, parse_currency
from functions.times import iso_ms
from functions.validation import reject_unknown_fields

MESSAGE_TYPE = "payment.accepted"


@dataclass(frozen=True)
class PaymentRequest:
    """A validated ``POST /payment`` body."""

    amount_cents: int
    currency: str

    @classmethod
    def from_body(cls, body: dict[str, Any], default_currency: str) -> PaymentRequest:
        reject_unknown_fields(body, {"amount", "currency"})
        if "amount" not in body:
            raise ValidationFailed("amount is required", field="amount")
        return cls(parse_amount(body["amount"]), parse_currency(body.get("currency"), default_currency))


@dataclass(frozen=True)
class Payment:
    """An accepted payment: the id and the acceptance time are minted at the gateway."""

    id: str
    amount_cents: int
    currency: str
    accepted_ms: int
    request_id: str | None = None
    idempotency_key: str | None = None

    @property
    def amount(self) -> str:
        return format_cents(self.amount_cents)

    def to_message(self) -> str:
        # written out rather than dataclasses.asdict(): that deep-copies and costs ~10 µs a request
        fields = {
            "type": MESSAGE_TYPE,
            "id": self.id,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "accepted_ms": self.accepted_ms,
            "request_id": self.request_id,
            "idempotency_key": self.idempotency_key,
        }
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_message(cls, body: str) -> Payment:
        """Parse a queue message; ``ValueError`` when it is not a well-formed payment."""
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("type") != MESSAGE_TYPE:
            raise ValueError("not a payment message")
        payment = cls(
            id=data["id"],
            amount_cents=data["amount_cents"],
            currency=data["currency"],
            accepted_ms=data["accepted_ms"],
            request_id=data.get("request_id"),
            idempotency_key=data.get("idempotency_key"),
        )
        if not (
            isinstance(payment.id, str)
            and is_id(payment.id)
            and type(payment.amount_cents) is int
            and 0 < payment.amount_cents <= MAX_AMOUNT_CENTS
            and payment.currency in CURRENCIES
            and type(payment.accepted_ms) is int
            and payment.accepted_ms > 0
        ):
            raise ValueError("payment message has invalid fields")
        return payment

    def accepted_body(self) -> dict[str, Any]:
        """What the client is told on 202."""
        return {"id": self.id, "status": "accepted", "amount": self.amount, "currency": self.currency}


@dataclass(frozen=True)
class StoredPayment:
    """A payment at rest in MySQL (times are naive UTC)."""

    id: str
    amount_cents: int
    currency: str
    accepted_at: datetime
    stored_at: datetime

    def body(self) -> dict[str, Any]:
        """What ``GET /payments/{id}`` answers for it."""
        return {
            "id": self.id,
            "status": "stored",
            "amount": format_cents(self.amount_cents),
            "currency": self.currency,
            "accepted_at": iso_ms(self.accepted_at),
            "stored_at": iso_ms(self.stored_at),
        }
