"""ReconcileService on fakes: Redis is rebuilt from MySQL, drift is reported, and nothing is
"corrected" while the queues still hold messages MySQL has not seen."""

from __future__ import annotations

import pytest

from functions.checkout.model import Item, Product
from functions.ids import new_id
from functions.payments.model import Payment
from functions.reconcile.service import ReconcileService
from tests.fakes import (
    FakeOrderStore,
    FakePaymentCounters,
    FakePaymentLedger,
    FakeQueue,
    FakeReconcileLog,
    FakeStockGate,
)

NOW_S = 1_767_225_600  # a whole minute
PAID_S = NOW_S - 600  # well inside the window, in a whole minute


class World:
    def __init__(self) -> None:
        self.counters = FakePaymentCounters()
        self.ledger = FakePaymentLedger()
        self.queue = FakeQueue()
        self.stock = FakeStockGate()
        self.orders = FakeOrderStore()
        self.log = FakeReconcileLog()
        self.service = ReconcileService(
            self.counters, self.ledger, self.queue, self.stock, self.orders, self.log, "t-payments", "t-orders", 1200
        )

    def pay(self, cents: int, second: int = PAID_S) -> None:
        self.ledger.store([Payment(new_id(second * 1000), cents, "EUR", second * 1000)])


@pytest.fixture
def world() -> World:
    return World()


def test_statistics_redis_lost_are_rebuilt_from_mysql_and_reported(world: World) -> None:
    world.pay(1250)
    world.pay(250, PAID_S + 1)
    report = world.service.run(NOW_S)
    assert report["payments"]["minutes_corrected"] == 1
    assert report["payments"]["drift"] == [
        {
            "currency": "EUR",
            "minute": PAID_S // 60 * 60,
            "redis": {"count": 0, "total_cents": 0},
            "mysql": {"count": 2, "total_cents": 1500},
        }
    ]
    assert world.counters.window(PAID_S, PAID_S + 1)["EUR"].total_cents == 1500
    assert world.service.run(NOW_S)["payments"]["minutes_corrected"] == 0  # in line now


def test_a_minute_redis_counts_more_of_is_left_alone_while_payments_are_queued(world: World) -> None:
    world.pay(1000)
    world.counters.add("EUR", PAID_S, 1000)
    world.counters.add("EUR", PAID_S, 500)  # accepted, still in the queue on its way to MySQL
    world.queue.send("t-payments", "in flight")
    assert world.service.run(NOW_S)["payments"]["minutes_corrected"] == 0
    assert world.counters.window(PAID_S, PAID_S)["EUR"].count == 2
    world.queue.sent.clear()  # drained: now MySQL is the truth
    assert world.service.run(NOW_S)["payments"]["minutes_corrected"] == 1
    assert world.counters.window(PAID_S, PAID_S)["EUR"].count == 1


def test_stock_redis_lost_is_restored_net_of_pending_and_drift_is_corrected_once_drained(world: World) -> None:
    world.orders.save_products([Product(1, "S1", "One", 100, 50), Product(2, "S2", "Two", 100, 9)])
    world.stock.put(2, 9)
    world.stock.reserve("o1", (Item(2, 2),), "EUR", NOW_S * 1000)  # pending: 2 units of product 2
    world.stock.put(2, 4)  # Redis drifted: 4 available where 9 - 2 pending = 7 exist
    world.queue.send("t-orders", "in flight")
    report = world.service.run(NOW_S)["stock"]
    assert (report["restored"], report["corrected"], report["deferred"]) == (1, 0, 1)
    assert world.stock.available([1, 2]) == {1: 50, 2: 4}
    world.queue.sent.clear()
    report = world.service.run(NOW_S)["stock"]
    assert (report["corrected"], report["drift_units"]) == (1, 3)
    assert report["drift"] == [{"product_id": 2, "redis": 4, "expected": 7, "mysql": 9, "pending": 2}]
    assert world.stock.available([2]) == {2: 7}


def test_the_report_is_kept_and_a_lost_report_is_no_error(world: World) -> None:
    assert world.service.last_report() is None
    report = world.service.run(NOW_S)
    assert world.service.last_report() == report and report["at"] == NOW_S
    world.log.down = True
    assert world.service.last_report() is None


def test_sqs_down_counts_as_not_drained(world: World) -> None:
    world.orders.save_products([Product(2, "S2", "Two", 100, 9)])
    world.stock.put(2, 4)
    world.queue.down = True
    assert world.service.run(NOW_S)["stock"]["queue_drained"] is False
    assert world.stock.available([2]) == {2: 4}
