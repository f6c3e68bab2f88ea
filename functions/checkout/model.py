"""Checkout as the domain sees it: the validated request, the accepted order and its queue form."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from functions.errors import ValidationFailed
from functions.ids import is_id
from functions.money import MAX_AMOUNT_CENTS, format_cents
from functions.times import iso_ms
from functions.validation import reject_unknown_fields

MESSAGE_TYPE = "order.accepted"
MAX_ITEMS = 20
MAX_QUANTITY = 10
MAX_PRODUCT_ID = 2**31 - 1
# Pragmatic, not RFC 5322: one @, no spaces, a dot in the domain, a sane length.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
# Digits with the usual separators, optionally starting with +; 7-15 digits (E.164 allows 15).
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]*[0-9]$")


@dataclass(frozen=True)
class Product:
    """A catalogue entry; ``stock`` is what MySQL holds, the source of truth."""

    id: int
    sku: str
    name: str
    price_cents: int
    stock: int


@dataclass(frozen=True)
class Item:
    """One line of an order; ``price_cents`` is the unit price fixed when stock was reserved."""

    product_id: int
    quantity: int
    price_cents: int = 0


@dataclass(frozen=True)
class Delivery:
    address: str
    phone: str
    email: str


def _whole_number(value: object, field: str, low: int, high: int) -> int:
    # JSON numbers arrive as int or Decimal (see parse_json); 2.0 is accepted, 2.5 is not
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if type(value) is not int or not low <= value <= high:
        raise ValidationFailed(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _text(body: dict[str, Any], name: str, low: int, high: int) -> str:
    field = f"delivery.{name}"
    value = body.get(name)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} is required and must be a string", field=field)
    value = value.strip()
    if not low <= len(value) <= high or not value.isprintable():
        raise ValidationFailed(f"{field} must be {low}-{high} printable characters", field=field)
    return value


def parse_delivery(value: object) -> Delivery:
    """Address, phone and email, each checked.

    >>> parse_delivery({"address": "1 Main St, Kyiv", "phone": "+380 44 123 4567", "email": "a@b.ua"}).phone
    '+380 44 123 4567'
    """
    if not isinstance(value, dict):
        raise ValidationFailed("delivery must be an object with address, phone and email", field="delivery")
    reject_unknown_fields(value, {"address", "phone", "email"})
    address = _text(value, "address", 5, 500)
    phone = _text(value, "phone", 7, 32)
    if not _PHONE.match(phone) or not 7 <= sum(c.isdigit() for c in phone) <= 15:
        raise ValidationFailed("delivery.phone must be a phone number with 7-15 digits", field="delivery.phone")
    email = _text(value, "email", 3, 254)
    if not _EMAIL.match(email) or len(email.split("@")[0]) > 64:
        raise ValidationFailed("delivery.email is not a valid email address", field="delivery.email")
    return Delivery(address=address, phone=phone, email=email)


def parse_items(value: object) -> tuple[Item, ...]:
    """1-20 distinct products, 1-10 of each.

    >>> parse_items([{"product_id": 100, "quantity": 2}])
    (Item(product_id=100, quantity=2, price_cents=0),)
    """
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ITEMS:
        raise ValidationFailed(f"items must be a list of 1-{MAX_ITEMS} items", field="items")
    items: list[Item] = []
    seen: set[int] = set()
    for n, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise ValidationFailed(f"items[{n}] must be an object", field=f"items[{n}]")
        reject_unknown_fields(raw, {"product_id", "quantity"})
        pid = _whole_number(raw.get("product_id"), f"items[{n}].product_id", 1, MAX_PRODUCT_ID)
        qty = _whole_number(raw.get("quantity"), f"items[{n}].quantity", 1, MAX_QUANTITY)
        if pid in seen:
            raise ValidationFailed(
                f"items[{n}].product_id {pid} is listed twice; give one quantity", field=f"items[{n}].product_id"
            )
        seen.add(pid)
        items.append(Item(pid, qty))
    return tuple(items)


@dataclass(frozen=True)
class CheckoutRequest:
    """A validated ``POST /checkout`` body."""

    items: tuple[Item, ...]
    delivery: Delivery

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> CheckoutRequest:
        reject_unknown_fields(body, {"items", "delivery"})
        return cls(parse_items(body.get("items")), parse_delivery(body.get("delivery")))

    def fingerprint(self) -> dict[str, Any]:
        """What an ``Idempotency-Key`` is bound to: a retry must repeat exactly this."""
        return {
            "items": [[i.product_id, i.quantity] for i in self.items],
            "delivery": [self.delivery.address, self.delivery.phone, self.delivery.email],
        }


@dataclass(frozen=True)
class Order:
    """An accepted order: id, unit prices and acceptance time are fixed at the gateway."""

    id: str
    items: tuple[Item, ...]
    total_cents: int
    currency: str
    delivery: Delivery
    accepted_ms: int
    request_id: str | None = None
    idempotency_key: str | None = None

    @property
    def units(self) -> int:
        return sum(i.quantity for i in self.items)

    def to_message(self) -> str:
        return json.dumps(
            {
                "type": MESSAGE_TYPE,
                "id": self.id,
                "items": [[i.product_id, i.quantity, i.price_cents] for i in self.items],
                "total_cents": self.total_cents,
                "currency": self.currency,
                "delivery": asdict(self.delivery),
                "accepted_ms": self.accepted_ms,
                "request_id": self.request_id,
                "idempotency_key": self.idempotency_key,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_message(cls, body: str) -> Order:
        """Parse a queue message; ``ValueError`` when it is not a well-formed order."""
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("type") != MESSAGE_TYPE:
            raise ValueError("not an order message")
        items = tuple(Item(int(pid), int(qty), int(price)) for pid, qty, price in data["items"])
        order = cls(
            id=data["id"],
            items=items,
            total_cents=data["total_cents"],
            currency=data["currency"],
            delivery=Delivery(**data["delivery"]),
            accepted_ms=data["accepted_ms"],
            request_id=data.get("request_id"),
            idempotency_key=data.get("idempotency_key"),
        )
        if not (
            isinstance(order.id, str)
            and is_id(order.id)
            and 1 <= len(items) <= MAX_ITEMS
            and len({i.product_id for i in items}) == len(items)
            and all(1 <= i.quantity <= MAX_QUANTITY and 0 < i.price_cents <= MAX_AMOUNT_CENTS for i in items)
            and type(order.total_cents) is int
            and order.total_cents == sum(i.quantity * i.price_cents for i in items)
            and type(order.accepted_ms) is int
            and order.accepted_ms > 0
        ):
            raise ValueError("order message has invalid fields")
        return order

    def accepted_body(self) -> dict[str, Any]:
        """What the client is told on 202."""
        return {"order_id": self.id, "status": "pending", "total": format_cents(self.total_cents)}


@dataclass(frozen=True)
class StoredOrder:
    """An order at rest in MySQL (times are naive UTC; ``stored_at`` None if never set)."""

    order_id: str
    status: str
    reason: str | None
    total_cents: int
    currency: str
    items: tuple[Item, ...]
    accepted_at: datetime
    stored_at: datetime | None

    def body(self) -> dict[str, Any]:
        """What ``GET /orders/{id}`` answers for it once Redis no longer knows it."""
        body: dict[str, Any] = {
            "order_id": self.order_id,
            "status": self.status,
            "total": format_cents(self.total_cents),
            "currency": self.currency,
            "items": [
                {"product_id": i.product_id, "quantity": i.quantity, "price": format_cents(i.price_cents)}
                for i in self.items
            ],
            "accepted_at": iso_ms(self.accepted_at),
            "stored_at": iso_ms(self.stored_at),
        }
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class Settlement:
    """What the worker decided for one order in MySQL."""

    order_id: str
    status: str  # confirmed | rejected
    reason: str | None = None


def held_items(marker: dict[str, str]) -> tuple[Item, ...]:
    """The lines a pending marker holds: ``items`` is "pid:qty:unit price cents,…".

    >>> held_items({"items": "100:2:49900,1001:1:500"})
    (Item(product_id=100, quantity=2, price_cents=49900), Item(product_id=1001, quantity=1, price_cents=500))
    """
    lines = (line.split(":") for line in filter(None, marker.get("items", "").split(",")))
    return tuple(Item(int(pid), int(qty), int(price)) for pid, qty, price in lines)


@dataclass(frozen=True)
class Held:
    """A reservation still pending in Redis past the bound, as the sweep finds it."""

    order_id: str
    claimed: bool  # a worker is settling it: not the sweep's to give back
    order: Order | None  # None when its marker is gone or no longer pending


@dataclass(frozen=True)
class Claim:
    """What Redis holds for an order the worker is about to settle (its marker)."""

    status: str  # pending | confirmed | rejected
    reason: str | None = None


# The answers of the Redis stock gate to one reservation attempt.
@dataclass(frozen=True)
class Reserved:
    prices_cents: tuple[int, ...]

    def total(self, items: tuple[Item, ...]) -> int:
        return sum(i.quantity * p for i, p in zip(items, self.prices_cents, strict=True))


@dataclass(frozen=True)
class Short:
    product_id: int
    available: int


@dataclass(frozen=True)
class Missing:
    """The product has no stock entry in Redis (never loaded, or Redis lost it)."""

    product_id: int


@dataclass(frozen=True)
class AlreadyReserved:
    """This order id holds a reservation already (a retry of the same Idempotency-Key)."""

    status: str
    total_cents: int


Reservation = Reserved | Short | Missing | AlreadyReserved


@dataclass(frozen=True)
class Reserving:
    """What one order asks the stock gate for."""

    order_id: str
    items: tuple[Item, ...]
    currency: str
    accepted_ms: int
