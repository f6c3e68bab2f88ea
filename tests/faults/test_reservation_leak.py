"""A gateway that dies between reserving stock in Redis and sending the order to SQS: the
reservation sweep (a reconcile step) gives the units back once the bound has passed,
exactly once. And a gateway whose slow send lands after the sweep oversells nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from functions.bootstrap import wire
from functions.reconcile.reservations import expired_reason
from tests.faults.world import Attempt, World
from tests.support import Graph, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOUND_S = 2


def sale(w: World, hot_stock: int = 10) -> Any:
    """The world's wired graph with a short reservation bound, and its catalogue loaded."""
    graph = Graph(*wire(replace(w.settings, reservation_timeout_seconds=BOUND_S)))
    graph.operator.load_catalogue(hot_stock=hot_stock, products=3)
    return graph


def hot(graph: Any) -> int:
    return int(graph.stock.available([100])[100])


def mysql_hot_stock(graph: Any) -> int:
    with graph.db.transaction() as cur:
        cur.execute("SELECT stock FROM products WHERE id = 100")
        return int(cur.fetchone()[0])


def buy_in_background(w: World, results: list[Attempt]) -> threading.Thread:
    buyer = threading.Thread(target=lambda: results.append(w.checkout((100, 2), timeout=20)))
    buyer.start()
    return buyer


def test_a_gateway_killed_between_reservation_and_send_leaks_nothing(world: Callable[..., World]) -> None:
    w = world(proxied=("sqs",))
    graph = sale(w)
    assert w.checkout((100, 1)).status == 202  # warm: queue url cached, connections open
    wait_until(lambda: graph.stock.pending() == {}, 30, 0.1, "the warm-up order to be confirmed")

    w.proxies["sqs"].latency = 3  # the send hangs: the gateway dies with the order in its hands
    results: list[Attempt] = []
    buyer = buy_in_background(w, results)
    wait_until(lambda: hot(graph) == 7, 10, 0.02, "the reservation")
    reserved_at = time.monotonic()
    os.killpg(w.process("gateway").pid, signal.SIGKILL)  # granian and its workers
    w.proxies["sqs"].cut()  # what it was sending never arrives
    buyer.join(timeout=30)
    w.proxies["sqs"].latency = 0
    w.proxies["sqs"].restore()
    assert results[0].status == 0  # no answer: the buyer does not know

    early = graph.reconcile.run()["reservations"]
    assert early["released"] == 0 and hot(graph) == 7  # not before the bound: it may yet arrive
    time.sleep(max(0.0, BOUND_S + 1.1 - (time.monotonic() - reserved_at)))
    swept = graph.reconcile.run()["reservations"]
    assert (swept["released"], swept["units"]) == (1, 2)
    assert hot(graph) == 9 and graph.stock.pending() == {}  # back on sale
    assert graph.reconcile.run()["reservations"]["released"] == 0  # exactly once
    assert hot(graph) == 9
    assert w.depth("orders") == 0 and mysql_hot_stock(graph) == 9  # the order never existed


def test_a_send_that_lands_after_the_sweep_oversells_nothing(world: Callable[..., World]) -> None:
    """The slow gateway: SQS takes the order after the sweep gave its units back and they were
    sold again; the worker stores the late order rejected, MySQL sells what it has."""
    w = world(proxied=("sqs",))
    graph = sale(w, hot_stock=3)
    assert w.checkout((1001, 1)).status == 202  # warm
    wait_until(lambda: graph.stock.pending() == {}, 30, 0.1, "the warm-up order to be confirmed")

    w.proxies["sqs"].latency = 1.5
    results: list[Attempt] = []
    buyer = buy_in_background(w, results)
    wait_until(lambda: hot(graph) == 1, 10, 0.02, "the reservation")
    # the sweep runs as if the bound had passed while the send still hangs
    swept = graph.reconcile.run(now_s=int(time.time()) + BOUND_S + 1)["reservations"]
    assert swept["released"] == 1 and hot(graph) == 3
    buyer.join(timeout=30)
    w.proxies["sqs"].latency = 0
    late = results[0]
    assert late.status == 202  # the buyer was told yes: the order exists and gets a clear answer
    resold = [w.checkout((100, 1)) for _ in range(3)]
    assert [a.status for a in resold] == [202, 202, 202]
    assert w.checkout((100, 1)).status == 409

    wait_until(lambda: w.depth("orders") == 0, 30, 0.2, "the orders queue to drain")
    row = wait_until(lambda: graph.orders.get(late.order_id), 30, 0.2, "the late order in MySQL")
    assert (row.status, row.reason) == ("rejected", expired_reason(BOUND_S))
    wait_until(lambda: all(getattr(graph.orders.get(a.order_id), "status", None) == "confirmed" for a in resold), 30)
    assert mysql_hot_stock(graph) == 0 and hot(graph) == 0  # 3 units, 3 sold: not 5
    assert graph.stock.pending() == {}
    assert w.checkout((100, 1)).status == 409
