"""The operator service: dead-letter queues, reset and the catalogue. The admin routes and
the CLI both call it, so both behave the same.

The wiring hands it out as ``surge().operator``. On in-memory fakes (``tests/fakes.py``):

>>> from tests.fakes import FakeDeadLetters, FakeKeyspace, FakeOrderStore, FakeStockGate, FakeTables
>>> dead_letters = FakeDeadLetters(queues={"surge-payments-dlq": ["m1", "m2"]})
>>> keyspace = FakeKeyspace(keys=3)
>>> operator = OperatorService({"payments": "surge-payments"}, dead_letters, keyspace, FakeTables({"payments": 2}),
...                            FakeOrderStore(), FakeStockGate())
>>> operator.show_dlq("payments", peek=1)  # depth and a few messages, left in place
{'queue': 'surge-payments-dlq', 'depth': 2, 'peek': ['m1']}
>>> dead_letters.unreachable.add("surge-payments")
>>> operator.reset()  # all or nothing: refuses before deleting anything if a dependency is down
Traceback (most recent call last):
functions.errors.DependencyDown: sqs unavailable: ConnectionError('surge-payments unreachable')
>>> keyspace.keys
3
>>> operator.load_catalogue(hot_stock=10_000, products=2)["products"]
3
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.checkout.catalogue import HOT_PRODUCT_ID, catalogue
from functions.errors import NotFound
from functions.ports import DeadLetters, Keyspace, OrderStore, StockGate, Tables


class OperatorService:
    def __init__(
        self,
        queues: Mapping[str, str],
        dead_letters: DeadLetters,
        keyspace: Keyspace,
        tables: Tables,
        orders: OrderStore,
        stock: StockGate,
    ):
        """``queues`` maps each consumed kind (``payments``…) to its queue name; each has ``<name>-dlq``."""
        self._queues = dict(queues)
        self._dead_letters = dead_letters
        self._keyspace = keyspace
        self._tables = tables
        self._orders = orders
        self._stock = stock

    def queue_kinds(self) -> list[str]:
        return list(self._queues)

    def _queue(self, kind: str) -> str:
        if kind not in self._queues:
            raise NotFound(f"no queue {kind[:40]!r}; known: {', '.join(self._queues)}")
        return self._queues[kind]

    def show_dlq(self, kind: str, peek: int = 5) -> dict[str, Any]:
        """Depth of ``kind``'s DLQ and up to ``peek`` of its messages (left in place)."""
        return self._dead_letters.show(f"{self._queue(kind)}-dlq", peek)

    def redrive(self, kind: str, limit: int = 10_000) -> int:
        """Move up to ``limit`` dead letters of ``kind`` back to its queue; how many moved."""
        name = self._queue(kind)
        return self._dead_letters.redrive(f"{name}-dlq", name, limit)

    def reset(self) -> dict[str, Any]:
        """Delete the Redis keys, purge the queues and their DLQs, empty every table.

        All or nothing: every dependency it touches is checked first, and a ``DependencyDown``
        naming the first one unreachable is raised before anything is deleted.
        """
        queues = [q for name in self._queues.values() for q in (name, f"{name}-dlq")]
        self._keyspace.ping()
        self._tables.ping()
        self._dead_letters.check(queues)
        deleted = self._keyspace.delete_all()
        purged, not_purged = [], []
        for queue in queues:
            error = self._dead_letters.purge(queue)
            if error is None:
                purged.append(queue)
            else:
                not_purged.append({"queue": queue, "error": error})
        tables = self._tables.empty_all()
        return {
            "redis_keys_deleted": deleted,
            "queues_purged": purged,
            "queues_not_purged": not_purged,
            "tables": tables,
        }

    def load_catalogue(self, hot_stock: int = 10_000, products: int = 1000, regular_stock: int = 100) -> dict[str, Any]:
        """Write the catalogue to MySQL (the truth), then its stock to Redis (net of pending orders)."""
        items = catalogue(hot_stock, products, regular_stock)
        self._orders.save_products(items)
        self._stock.load_many(items, force=True)
        return {
            "products": len(items),
            "hot_product": HOT_PRODUCT_ID,
            "hot_stock": hot_stock,
            "regular_stock": regular_stock,
        }
