"""Window arithmetic and the statistics figures, with a fake counter store."""

from __future__ import annotations

from functions.statistics.model import Aggregate
from functions.statistics.service import StatisticsService
from functions.statistics.window import Window, figures
from tests.fakes import FakePaymentCounters, FakeStatistics


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
    counters = FakePaymentCounters()
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
    service = StatisticsService(FakeStatistics(FakePaymentCounters()), clock=lambda: 1000)
    service.add_section("orders", lambda window, read: {"count": window.seconds, "sold_out": read.sold_out[0]})
    assert service.snapshot(30, "EUR")["orders"] == {"count": 30, "sold_out": 0}


def test_the_rate_has_three_decimals_and_a_window_cannot_be_changed() -> None:
    import dataclasses

    import pytest

    window = Window(now_s=1000, seconds=60)
    assert figures(Aggregate(1, 100, 100, 100), window)["per_second"] == 0.017  # 1/60, as the README shows
    assert figures(Aggregate(7, 700, 100, 100), Window(1000, 1200))["per_second"] == 0.006
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.seconds = 1201  # type: ignore[misc]


def test_an_emptied_aggregate_shows_no_min_or_max() -> None:
    """A count of 0 means nothing in the window, whatever min/max a bucket still carries."""
    assert figures(Aggregate(0, 0, 100, 900), Window(100, 60))["min"] is None
    assert figures(Aggregate(0, 0, 100, 900), Window(100, 60))["max"] is None


def test_the_series_counts_the_chosen_currency_per_second_oldest_first() -> None:
    counters = FakePaymentCounters()
    for second, currency in ((997, "EUR"), (999, "USD"), (999, "EUR"), (1000, "EUR"), (990, "EUR")):
        counters.add(currency, second, 100)
    service = StatisticsService(FakeStatistics(counters), clock=lambda: 1000)
    snapshot = service.snapshot(4, "EUR", series=True)
    assert snapshot["payments_per_second"] == {
        "currency": "EUR",
        "from": "1970-01-01T00:16:37Z",
        "step_seconds": 1,
        "counts": [1, 0, 1, 1],
    }
    usd = StatisticsService(FakeStatistics(counters), clock=lambda: 1000).snapshot(4, "USD", series=True)
    assert usd["payments_per_second"]["counts"] == [0, 0, 1, 0]
    assert "payments_per_second" not in StatisticsService(FakeStatistics(counters), clock=lambda: 1000).snapshot(
        4, "EUR"
    )


def test_the_orders_section_counts_accepted_orders_and_lists_best_sellers_and_sold_out() -> None:
    from functions.checkout.model import Delivery, Item, Order
    from functions.checkout.statistics import orders_section
    from tests.fakes import FakeStockGate

    stock = FakeStockGate()
    stock.put(100, 3, 49_900)
    stock.put(1, 10, 1_000)
    stock.reserve("o1", (Item(100, 3),), "EUR", 1_000_000)
    stock.reserve("o2", (Item(1, 2),), "EUR", 1_000_000)
    stock.reserve("o3", (Item(1, 1),), "EUR", 1_000_000)
    rejected = Order("o3", (Item(1, 1, 1_000),), 1_000, "EUR", Delivery("a", "b", "c"), 1_000_000)
    stock.release(rejected, "rejected", "out of stock")  # taken out of the figures again
    store = FakeStatistics(FakePaymentCounters(), stock, {"stock": {"corrected": 0}})
    service = StatisticsService(store, clock=lambda: 1000)
    service.add_section("orders", orders_section("EUR"))
    orders = service.snapshot(60, "EUR")["orders"]
    assert orders == {
        "currency": "EUR",
        "count": 2,
        "revenue": "1517.00",
        "units": 5,
        "per_second": 0.033,
        "best_sellers": [{"product_id": 100, "sold": 3, "available": 0}, {"product_id": 1, "sold": 2, "available": 8}],
        "sold_out": {"count": 1, "product_ids": [100]},
        "stock_reconcile": {"corrected": 0},
    }
