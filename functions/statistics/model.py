"""Value types of the payment statistics: aggregates of amounts over spans of time."""

from __future__ import annotations

from dataclasses import dataclass


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
            min(self.min_cents, other.min_cents),  # type: ignore[type-var]  # count > 0: never None
            max(self.max_cents, other.max_cents),  # type: ignore[type-var]  # count > 0: never None
        )


@dataclass(frozen=True)
class SecondBucket:
    """Payments of one currency accepted in one second (epoch seconds)."""

    currency: str
    second: int
    aggregate: Aggregate
