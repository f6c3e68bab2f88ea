"""Window arithmetic: which seconds a window covers and how its figures read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.money import average_cents, format_cents
from functions.statistics.model import Aggregate


@dataclass(frozen=True)
class Window:
    """The ``seconds`` whole seconds ending with the second ``now`` falls in.

    >>> Window(now_s=1000, seconds=60).first, Window(now_s=1000, seconds=60).last
    (941, 1000)
    """

    now_s: int
    seconds: int

    @property
    def first(self) -> int:
        return self.now_s - self.seconds + 1

    @property
    def last(self) -> int:
        return self.now_s


def figures(agg: Aggregate, window: Window) -> dict[str, Any]:
    """Exact decimal strings for money; the rate is payments per second over the window."""
    return {
        "count": agg.count,
        "total": format_cents(agg.total_cents),
        "average": average_cents(agg.total_cents, agg.count),
        "min": format_cents(agg.min_cents) if agg.count and agg.min_cents is not None else None,
        "max": format_cents(agg.max_cents) if agg.count and agg.max_cents is not None else None,
        "per_second": round(agg.count / window.seconds, 3),
    }
