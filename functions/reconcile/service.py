"""Reconcile: rebuild Redis from MySQL (payment statistics, then stock) and keep the report.

Run every minute by the schedule, and by ``./surge reconcile``.
"""

from __future__ import annotations

import time
from typing import Any

from functions.errors import DependencyDown
from functions.observability import logger
from functions.ports import MessageQueue, OrderStore, PaymentCounters, PaymentLedger, ReconcileLog, StockGate
from functions.reconcile.payments import reconcile_payment_statistics
from functions.reconcile.stock import reconcile_stock


class ReconcileService:
    """Rebuild Redis from MySQL and keep the report.

    On in-memory fakes of its ports (``tests/fakes.py``), with a product Redis has lost:

    >>> from functions.checkout.model import Product
    >>> from tests.fakes import (FakeOrderStore, FakePaymentCounters, FakePaymentLedger, FakeQueue,
    ...                          FakeReconcileLog, FakeStockGate)
    >>> orders, stock = FakeOrderStore(), FakeStockGate()
    >>> orders.save_products([Product(100, "HOT-100", "Console", 49_900, 10)])
    1
    >>> service = ReconcileService(FakePaymentCounters(), FakePaymentLedger(), FakeQueue(), stock, orders,
    ...                            FakeReconcileLog(), "surge-payments", "surge-orders", window_seconds=1200)
    >>> report = service.run(now_s=1_767_225_600)
    >>> report["stock"]["restored"], stock.available([100]), service.last_report() == report
    (1, {100: 10}, True)
    """

    def __init__(
        self,
        counters: PaymentCounters,
        ledger: PaymentLedger,
        queue: MessageQueue,
        stock: StockGate,
        orders: OrderStore,
        log: ReconcileLog,
        payments_queue: str,
        orders_queue: str,
        window_seconds: int,
    ):
        self._counters = counters
        self._ledger = ledger
        self._queue = queue
        self._stock = stock
        self._orders = orders
        self._log = log
        self._payments_queue = payments_queue
        self._orders_queue = orders_queue
        self._window_seconds = window_seconds

    def run(self, now_s: int | None = None) -> dict[str, Any]:
        """Run every reconciliation once; the report is logged and kept for the statistics."""
        now = int(time.time()) if now_s is None else now_s
        report: dict[str, Any] = {
            "at": now,
            "payments": reconcile_payment_statistics(
                self._counters, self._ledger, now, self._window_seconds, self._drained(self._payments_queue)
            ),
        }
        report["stock"] = reconcile_stock(self._stock, self._orders, self._drained(self._orders_queue))
        logger.info("reconciled", extra={"report": report})
        self._log.save(report)
        return report

    def last_report(self) -> dict[str, Any] | None:
        """The last report, or None when there is none or Redis cannot say (the statistics still show)."""
        try:
            return self._log.last()
        except DependencyDown:
            return None

    def _drained(self, queue: str) -> bool:
        try:
            depth = self._queue.depth(queue)
        except DependencyDown:
            return False
        return depth["visible"] == 0 and depth["in_flight"] == 0
