"""The small interfaces the service layer calls. Real adapters and fakes implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from functions.payments.model import Payment


@dataclass(frozen=True)
class Aggregate:
    """Count, sum, min and max of amounts in cents over some span of time."""

    count: int = 0
    total_cents: int = 0
    min_cents: int | None = None
    max_cents: int | None = None

    def merge(self, other: Aggregate) -> Aggregate:
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        return Aggregate(
            self.count + other.count,
            self.total_cents + other.total_cents,
            min(self.min_cents, other.min_cents),  # type: ignore[type-var]
            max(self.max_cents, other.max_cents),  # type: ignore[type-var]
        )


@dataclass(frozen=True)
class SecondBucket:
    """Payments of one currency accepted in one second (epoch seconds)."""

    currency: str
    second: int
    aggregate: Aggregate


class MessageQueue(Protocol):
    def send(self, queue: str, body: str, attributes: dict[str, str] | None = None) -> str:
        """Put one message on ``queue``; return its id or raise ``DependencyDown``."""

    def depth(self, queue: str) -> dict[str, int]:
        """``{"visible": n, "in_flight": n}`` for ``queue``."""


class PaymentCounters(Protocol):
    """Hot state of payments in Redis: in-flight markers and per-second statistics."""

    def record(self, payment: Payment, metrics: Mapping[str, float] | None = None) -> None:
        """Count ``payment``; ``metrics`` are increments of metric fields folded into the same call."""

    def marker(self, payment_id: str) -> dict[str, Any] | None: ...

    def window(self, first_second: int, last_second: int) -> dict[str, Aggregate]: ...

    def second_counts(self, first_second: int, last_second: int) -> list[int]:
        """How many payments (all currencies) were accepted in each second of the span, oldest first."""

    def replace_seconds(self, currency: str, minute: int, buckets: Sequence[SecondBucket]) -> None: ...

    def minute_aggregates(self, first_second: int, last_second: int) -> dict[tuple[str, int], Aggregate]: ...


class PaymentLedger(Protocol):
    """Payments at rest in MySQL."""

    def store(self, payments: Sequence[Payment]) -> int:
        """Insert idempotently by id in one transaction; return rows newly inserted."""

    def get(self, payment_id: str) -> dict[str, Any] | None: ...

    def seconds(self, first_second: int, last_second: int) -> list[SecondBucket]: ...
