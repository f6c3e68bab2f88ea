"""Redis unreachable or flushed mid-run.

The decision (docs/guarantees.md): a payment WITHOUT an Idempotency-Key is still accepted
while Redis is down (it is durable in SQS; only the live counters miss it until reconcile
rebuilds them from MySQL); one WITH an Idempotency-Key gets 503, since without Redis we
cannot tell a retry from a new payment. Either way: never lost, never counted twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.faults.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def settled_now() -> int:
    """A reconcile clock past the settle delay, so this minute counts as whole and final."""
    return int(time.time()) + 120


def eur(graph: Any) -> dict[str, object]:
    payments: dict[str, object] = graph.statistics.snapshot(1200, "EUR")["payments"]
    return payments


def test_redis_down_accepts_unkeyed_payments_refuses_keyed_ones_and_reconcile_repairs(
    world: Callable[..., World],
) -> None:
    w = world(proxied=("redis",))
    before = [w.pay("1.00") for _ in range(20)]
    w.proxies["redis"].cut()
    during = [w.pay("2.00") for _ in range(20)]
    keyed = [w.pay("3.00", key=f"k-{uuid.uuid4().hex}") for _ in range(5)]
    w.proxies["redis"].restore()
    after = [w.pay("4.00") for _ in range(20)]

    assert {a.status for a in before + during + after} == {202}
    assert {a.status for a in keyed} == {503}
    accepted = {a.payment_id for a in before + during + after}
    stored = w.wait_stored(len(accepted))
    assert set(stored) == accepted and len(stored) == len(accepted)  # keyed 503s never landed

    graph = w.graph()
    assert eur(graph)["count"] == 40  # the 20 accepted while Redis was down are not counted yet…
    report = graph.reconcile.run(now_s=settled_now())
    assert report["payments"]["minutes_corrected"] >= 1
    assert w.mysql_total() == (60, Decimal("140.00"))
    assert (eur(graph)["count"], eur(graph)["total"]) == (60, "140.00")  # …and now they are
    graph.reconcile.run(now_s=settled_now())  # running it again changes nothing: never twice
    assert (eur(graph)["count"], eur(graph)["total"]) == (60, "140.00")


def test_redis_flushed_mid_run_statistics_are_rebuilt_from_mysql(world: Callable[..., World]) -> None:
    w = world()
    first = [w.pay("5.00") for _ in range(15)]
    w.wait_stored(15)
    assert w.redis_delete_all() > 0  # "flush": this world's keys only
    graph = w.graph()
    assert eur(graph)["count"] == 0
    second = [w.pay("5.00") for _ in range(10)]
    assert {a.status for a in first + second} == {202}
    stored = w.wait_stored(25)
    assert len(set(stored)) == 25
    assert eur(graph)["count"] == 10

    graph.reconcile.run(now_s=settled_now())
    assert (eur(graph)["count"], eur(graph)["total"]) == (25, "125.00")
    assert w.mysql_total() == (25, Decimal("125.00"))
