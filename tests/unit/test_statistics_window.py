"""Window arithmetic and the statistics figures, with a fake counter store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.statistics.model import Aggregate, SecondBucket
from functions.statistics.service import StatisticsService
from functions.statistics.window import Window, figures


class FakeCounters:
    """Keeps per-second aggregates in a dict; ``window`` sums the asked span."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, int], Aggregate] = {}

    def add(self, currency: str, second: int, cents: int) -> None:
        key = (currency, second)
        self.seconds[key] = self.seconds.get(key, Aggregate()).merge(Aggregate(1, cents, cents, cents))

    def window(self, first_second: int, last_second: int) -> dict[str, Aggregate]:
        out: dict[str, Aggregate] = {}
        for (cur, sec), agg in self.seconds.items():
            if first_second <= sec <= last_second:
                out[cur] = out.get(cur, Aggregate()).merge(agg)
        return out

    def record(self, payment: Any) -> None: ...
    def marker(self, payment_id: str) -> None: ...
    def replace_seconds(self, currency: str, minute: int, buckets: Sequence[SecondBucket]) -> None: ...
    def minute_aggregates(self, first_second: int, last_second: int) -> dict[tuple[str, int], Aggregate]:
        return {}


def test_window_covers_exactly_the_last_n_seconds() -> None:
    window = Window(now_s=10_000, seconds=1200)
    assert (window.first, window.last) == (8801, 10_000)
    assert window.last - window.first + 1 == 1200


def test_figures_are_exact_and_rate_is_per_second() -> None:
    window = Window(now_s=100, seconds=10)
    agg = Aggregate(3, 1000, 100, 700)  # 1.00 + 2.00 + 7.00
    assert figures(agg, window) == {
        "count": 3, "total": "10.00", "average": "3.33", "min": "1.00", "max": "7.00", "per_second": 0.3,
    }  # fmt: skip


def test_empty_window_has_no_min_or_max() -> None:
    assert figures(Aggregate(), Window(100, 60)) == {
        "count": 0, "total": "0.00", "average": "0.00", "min": None, "max": None, "per_second": 0.0,
    }  # fmt: skip


def test_payments_outside_the_window_are_not_counted() -> None:
    counters = FakeCounters()
    now = 50_000
    counters.add("EUR", now - 1200, 999)  # one second too old
    counters.add("EUR", now - 1199, 100)  # first second inside
    counters.add("EUR", now, 300)  # this second
    counters.add("USD", now - 5, 5000)
    service = StatisticsService(counters, clock=lambda: now + 0.7)
    snapshot = service.snapshot(1200, "EUR")
    assert snapshot["payments"]["count"] == 2
    assert snapshot["payments"]["total"] == "4.00"
    assert snapshot["payments"]["min"] == "1.00"
    assert snapshot["payments"]["max"] == "3.00"
    assert snapshot["payments_by_currency"]["USD"]["total"] == "50.00"
    assert service.snapshot(60, "EUR")["payments"]["count"] == 1


def test_sections_are_added_to_the_snapshot() -> None:
    service = StatisticsService(FakeCounters(), clock=lambda: 1000)
    service.add_section("orders", lambda window: {"count": window.seconds})
    assert service.snapshot(30, "EUR")["orders"] == {"count": 30}
