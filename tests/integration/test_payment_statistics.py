"""Per-second statistics buckets in real Redis: window edges, minute totals, reconcile."""

from __future__ import annotations

from typing import Any

from functions.ids import new_id
from functions.payments.model import Payment
from functions.reconcile.payments import reconcile_payment_statistics
from functions.statistics.model import Aggregate
from tests.support import hot_figures


def pay(surge_app: Any, second: int, cents: int, currency: str = "EUR") -> Payment:
    payment = Payment(new_id(second * 1000), cents, currency, second * 1000 + 123)
    surge_app.counters.record(payment)
    return payment


def test_window_edges_use_seconds_and_inner_minutes_use_totals(surge_app: Any) -> None:
    base = 1_800_000_000 - 1_800_000_000 % 60  # a minute boundary
    pay(surge_app, base - 1, 100)  # just before
    pay(surge_app, base + 5, 200)
    pay(surge_app, base + 65, 300)  # next minute
    pay(surge_app, base + 130, 50)  # two minutes on, at second 10
    pay(surge_app, base + 131, 999)
    assert hot_figures(surge_app, base, base + 130).payments["EUR"] == Aggregate(3, 550, 50, 300)
    assert hot_figures(surge_app, base + 6, base + 130).payments["EUR"] == Aggregate(2, 350, 50, 300)
    assert hot_figures(surge_app, base - 1, base + 200).payments["EUR"] == Aggregate(5, 1649, 50, 999)
    assert hot_figures(surge_app, base + 10, base + 60).payments == {}


def test_reconcile_rebuilds_lost_statistics_from_mysql(surge_app: Any) -> None:
    base = 1_800_000_000 - 1_800_000_000 % 60
    payments = [pay(surge_app, base + s, c) for s, c in [(1, 100), (2, 250), (70, 1000)]]
    surge_app.ledger.store(payments)
    before = hot_figures(surge_app, base, base + 119).payments
    # lose Redis' copy of the first minute only
    surge_app.redis.delete(f"{surge_app.settings.redis_prefix}stats:pay:EUR:{base // 60}")
    assert hot_figures(surge_app, base, base + 119).payments["EUR"].count == 1
    report = reconcile_payment_statistics(
        surge_app.counters, surge_app.ledger, now_s=base + 200, window_seconds=1200, queue_drained=True
    )
    assert report["minutes_corrected"] == 1
    assert report["drift"][0]["redis"]["count"] == 0
    assert report["drift"][0]["mysql"]["count"] == 2
    assert hot_figures(surge_app, base, base + 119).payments == before


def test_reconcile_only_fills_lost_minutes_while_messages_are_in_flight(surge_app: Any) -> None:
    base = 1_800_000_000 - 1_800_000_000 % 60
    stored = pay(surge_app, base + 1, 100)
    pay(surge_app, base + 2, 200)  # accepted, still in the queue: not in MySQL yet
    surge_app.ledger.store([stored])
    report = reconcile_payment_statistics(
        surge_app.counters, surge_app.ledger, now_s=base + 200, window_seconds=1200, queue_drained=False
    )
    assert report["minutes_corrected"] == 0
    assert hot_figures(surge_app, base, base + 59).payments["EUR"].count == 2
    drained = reconcile_payment_statistics(
        surge_app.counters, surge_app.ledger, now_s=base + 200, window_seconds=1200, queue_drained=True
    )
    assert drained["minutes_corrected"] == 1  # MySQL is the truth once nothing is in flight
    assert hot_figures(surge_app, base, base + 59).payments["EUR"].count == 1


def test_the_window_limit_is_1200_seconds_to_the_edge(client: Any, surge_app: Any) -> None:
    """1200 is accepted and is the default, 1201 is refused; a payment 1199 s old is inside
    the 1200 s window, one 1200 s old is not (real Redis buckets, a fixed clock)."""
    import json
    import time

    from functions.statistics.service import StatisticsService

    for query, status, seconds in (("", 200, 1200), ("?window=1200", 200, 1200), ("?window=1199", 200, 1199)):
        response = client.http.get(f"/statistics{query}")
        assert response.status_code == status, query
        assert json.loads(response.body)["window_seconds"] == seconds
    refused = client.http.get("/statistics?window=1201")
    assert refused.status_code == 400 and json.loads(refused.body)["field"] == "window"

    now = int(time.time())
    pay(surge_app, now - 1200, 999)  # one second too old
    pay(surge_app, now - 1199, 100)  # the oldest second inside
    pay(surge_app, now, 300)
    service = StatisticsService(surge_app.adapters.statistics, clock=lambda: now + 0.999)
    window = service.snapshot(1200, "EUR")
    assert (window["payments"]["count"], window["payments"]["total"]) == (2, "4.00")
    assert (window["payments"]["min"], window["payments"]["max"]) == ("1.00", "3.00")
    assert service.snapshot(1199, "EUR")["payments"]["count"] == 1
