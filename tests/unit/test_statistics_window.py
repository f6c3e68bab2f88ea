"""Window arithmetic and the statistics figures, with a fake counter store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.statistics.model import Aggregate, SecondBucket, StatisticsRead
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


class FakeStatistics:
    """The statistics store over ``FakeCounters``: payments only, nothing sold."""

    def __init__(self, counters: FakeCounters | None = None) -> None:
        self.counters = counters or FakeCounters()

    def read(self, first: int, last: int, series: bool, best_sellers: int, sold_out: int) -> StatisticsRead:
        counts = [
            sum(a.count for (_, s), a in self.counters.seconds.items() if s == sec) for sec in range(first, last + 1)
        ]
        return StatisticsRead(self.counters.window(first, last), counts if series else None, {}, [], (0, []), None)


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
    service = StatisticsService(FakeStatistics(counters), clock=lambda: now + 0.7)
    snapshot = service.snapshot(1200, "EUR")
    assert snapshot["payments"]["count"] == 2
    assert snapshot["payments"]["total"] == "4.00"
    assert snapshot["payments"]["min"] == "1.00"
    assert snapshot["payments"]["max"] == "3.00"
    assert snapshot["payments_by_currency"]["USD"]["total"] == "50.00"
    assert service.snapshot(60, "EUR")["payments"]["count"] == 1


def test_sections_are_added_to_the_snapshot() -> None:
    service = StatisticsService(FakeStatistics(), clock=lambda: 1000)
    service.add_section("orders", lambda window, read: {"count": window.seconds, "sold_out": read.sold_out[0]})
    assert service.snapshot(30, "EUR")["orders"] == {"count": 30, "sold_out": 0}


def test_the_series_is_one_count_per_second_of_the_window() -> None:
    counters = FakeCounters()
    counters.add("EUR", 995, 100)
    counters.add("USD", 995, 100)
    snapshot = StatisticsService(FakeStatistics(counters), clock=lambda: 1000).snapshot(10, "EUR", series=True)
    assert snapshot["payments_per_second"]["counts"] == [0, 0, 0, 0, 2, 0, 0, 0, 0, 0]  # 991…1000
    assert "payments_per_second" not in StatisticsService(FakeStatistics(counters)).snapshot(10, "EUR")
