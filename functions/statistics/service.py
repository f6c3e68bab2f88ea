"""Assemble ``GET /statistics`` from Redis: a few milliseconds whatever the load."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from functions.ports import StatisticsStore
from functions.statistics.model import Aggregate, StatisticsRead
from functions.statistics.window import Window, figures

# Other capabilities (checkout…) add their own section: name -> fn(window, read) -> dict,
# shaped from the one read of the store (a section must not go back to Redis).
Section = Callable[[Window, StatisticsRead], dict[str, Any]]

BEST_SELLERS = 5
SOLD_OUT_LISTED = 20


class StatisticsService:
    def __init__(self, store: StatisticsStore, clock: Callable[[], float] = time.time):
        self._store = store
        self._clock = clock
        self._sections: dict[str, Section] = {}
        self._operator_only: set[str] = set()

    def add_section(self, name: str, section: Section, operator_only: bool = False) -> None:
        """``operator_only``: shown only to operators (queue health is not for clients)."""
        self._sections[name] = section
        if operator_only:
            self._operator_only.add(name)

    def snapshot(
        self, window_seconds: int, currency: str, series: bool = False, operator: bool = True
    ) -> dict[str, Any]:
        """The figures of the window; with ``series`` also the count of payments in each second;
        without ``operator`` the operator-only sections are left out."""
        window = Window(int(self._clock()), window_seconds)
        read = self._store.read(window.first, window.last, series, BEST_SELLERS, SOLD_OUT_LISTED, currency)
        shown = [name for name in self._sections if operator or name not in self._operator_only]
        extra = {name: self._sections[name](window, read) for name in shown}
        by_currency = read.payments
        if read.second_counts is not None:
            # the chosen currency, oldest second first: the dashboard's payments-per-second chart
            extra["payments_per_second"] = {
                "currency": currency,
                "from": _iso(window.first),
                "step_seconds": 1,
                "counts": read.second_counts,
            }
        return {
            "window_seconds": window.seconds,
            "from": _iso(window.first),
            "to": _iso(window.last + 1),
            "payments": {"currency": currency, **figures(by_currency.get(currency, Aggregate()), window)},
            "payments_by_currency": {cur: figures(agg, window) for cur, agg in sorted(by_currency.items())},
            **extra,
        }


def _iso(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
