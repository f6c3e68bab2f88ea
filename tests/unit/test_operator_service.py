"""OperatorService on fakes: reset is all or nothing, dead letters by queue kind, catalogue load."""

from __future__ import annotations

import pytest

from functions.admin.service import OperatorService
from functions.checkout.catalogue import HOT_PRODUCT_ID
from functions.errors import DependencyDown, NotFound
from tests.fakes import FakeDeadLetters, FakeKeyspace, FakeOrderStore, FakeStockGate, FakeTables

QUEUES = {"payments": "t-payments", "orders": "t-orders"}


class World:
    def __init__(self) -> None:
        self.dead_letters = FakeDeadLetters(
            queues={"t-payments": ["p1"], "t-payments-dlq": ["d1", "d2", "d3"], "t-orders": [], "t-orders-dlq": ["o"]}
        )
        self.keyspace = FakeKeyspace(keys=42)
        self.tables = FakeTables({"payments": 7, "orders": 3})
        self.orders = FakeOrderStore()
        self.stock = FakeStockGate()
        self.operator = OperatorService(QUEUES, self.dead_letters, self.keyspace, self.tables, self.orders, self.stock)

    def untouched(self) -> bool:
        return (
            self.keyspace.keys == 42
            and self.tables.rows == {"payments": 7, "orders": 3}
            and self.dead_letters.queues["t-payments-dlq"] == ["d1", "d2", "d3"]
        )


@pytest.fixture
def world() -> World:
    return World()


def test_reset_empties_redis_the_queues_and_the_tables(world: World) -> None:
    report = world.operator.reset()
    assert report == {
        "redis_keys_deleted": 42,
        "queues_purged": ["t-payments", "t-payments-dlq", "t-orders", "t-orders-dlq"],
        "queues_not_purged": [],
        "tables": ["orders", "payments"],
    }
    assert world.keyspace.keys == 0 and set(world.tables.rows.values()) == {0}
    assert all(messages == [] for messages in world.dead_letters.queues.values())


@pytest.mark.parametrize("down", ["redis", "mysql", "a dlq"])
def test_reset_refuses_before_deleting_anything_when_a_dependency_is_down(world: World, down: str) -> None:
    if down == "redis":
        world.keyspace.down = True
    elif down == "mysql":
        world.tables.down = True
    else:
        world.dead_letters.unreachable.add("t-orders-dlq")
    with pytest.raises(DependencyDown):
        world.operator.reset()
    world.keyspace.down = world.tables.down = False
    assert world.untouched()


def test_a_queue_the_service_will_not_purge_is_reported(world: World) -> None:
    world.dead_letters.refuse_purge["t-orders"] = "PurgeQueueInProgress"
    report = world.operator.reset()
    assert report["queues_not_purged"] == [{"queue": "t-orders", "error": "PurgeQueueInProgress"}]
    assert "t-orders" not in report["queues_purged"]


def test_dead_letters_are_shown_and_redriven_by_queue_kind(world: World) -> None:
    assert world.operator.show_dlq("payments", peek=2) == {"queue": "t-payments-dlq", "depth": 3, "peek": ["d1", "d2"]}
    assert world.operator.redrive("payments", limit=2) == 2
    assert world.dead_letters.queues["t-payments"] == ["p1", "d1", "d2"]
    assert world.dead_letters.queues["t-payments-dlq"] == ["d3"]
    with pytest.raises(NotFound):
        world.operator.show_dlq("refunds")
    assert world.operator.queue_kinds() == ["payments", "orders"]


def test_the_catalogue_goes_to_mysql_then_to_redis_net_of_pending_orders(world: World) -> None:
    world.stock.pending_units[HOT_PRODUCT_ID] = 30  # orders reserved and not yet settled
    world.stock.put(HOT_PRODUCT_ID, 3)  # left over from the last sale: overwritten
    report = world.operator.load_catalogue(hot_stock=500, products=3, regular_stock=7)
    assert report == {"products": 4, "hot_product": HOT_PRODUCT_ID, "hot_stock": 500, "regular_stock": 7}
    assert world.orders.catalogue[HOT_PRODUCT_ID].stock == 500
    assert world.stock.available([HOT_PRODUCT_ID])[HOT_PRODUCT_ID] == 470
    assert len(world.orders.products()) == 4 and len(world.stock.products) == 4
