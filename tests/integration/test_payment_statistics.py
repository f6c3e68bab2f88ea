"""Per-second statistics buckets in real Redis: window edges, minute totals, reconcile."""

from __future__ import annotations

from typing import Any

from functions.ids import new_id
from functions.payments.model import Payment
from functions.reconcile.payments import reconcile_payment_statistics
from functions.statistics.model import Aggregate


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
    counters = surge_app.counters
    assert counters.window(base, base + 130)["EUR"] == Aggregate(3, 550, 50, 300)
    assert counters.window(base + 6, base + 130)["EUR"] == Aggregate(2, 350, 50, 300)
    assert counters.window(base - 1, base + 200)["EUR"] == Aggregate(5, 1649, 50, 999)
    assert counters.window(base + 10, base + 60) == {}


def test_reconcile_rebuilds_lost_statistics_from_mysql(surge_app: Any) -> None:
    base = 1_800_000_000 - 1_800_000_000 % 60
    payments = [pay(surge_app, base + s, c) for s, c in [(1, 100), (2, 250), (70, 1000)]]
    surge_app.ledger.store(payments)
    before = surge_app.counters.window(base, base + 119)
    # lose Redis' copy of the first minute only
    surge_app.redis.delete(f"{surge_app.settings.redis_prefix}stats:pay:EUR:{base // 60}")
    assert surge_app.counters.window(base, base + 119)["EUR"].count == 1
    report = reconcile_payment_statistics(
        surge_app.counters, surge_app.ledger, now_s=base + 200, window_seconds=1200, queue_drained=True
    )
    assert report["minutes_corrected"] == 1
    assert report["drift"][0]["redis"]["count"] == 0
    assert report["drift"][0]["mysql"]["count"] == 2
    assert surge_app.counters.window(base, base + 119) == before


def test_reconcile_only_fills_lost_minutes_while_messages_are_in_flight(surge_app: Any) -> None:
    base = 1_800_000_000 - 1_800_000_000 % 60
    stored = pay(surge_app, base + 1, 100)
    pay(surge_app, base + 2, 200)  # accepted, still in the queue: not in MySQL yet
    surge_app.ledger.store([stored])
    report = reconcile_payment_statistics(
        surge_app.counters, surge_app.ledger, now_s=base + 200, window_seconds=1200, queue_drained=False
    )
    assert report["minutes_corrected"] == 0
    assert surge_app.counters.window(base, base + 59)["EUR"].count == 2
    drained = reconcile_payment_statistics(
        surge_app.counters, surge_app.ledger, now_s=base + 200, window_seconds=1200, queue_drained=True
    )
    assert drained["minutes_corrected"] == 1  # MySQL is the truth once nothing is in flight
    assert surge_app.counters.window(base, base + 59)["EUR"].count == 1
