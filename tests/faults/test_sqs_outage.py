"""SQS unreachable for 5 s during load: 202 or 503, every 202 stored, 503s never counted."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from tests.faults.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_sqs_outage_under_load_gives_202_or_503_and_loses_no_202(world: Callable[..., World]) -> None:
    w = world(proxied=("sqs",))
    proxy = w.proxies["sqs"]
    cut_at: list[float] = []

    def outage() -> None:
        time.sleep(2)
        cut_at.append(time.monotonic())
        proxy.cut()
        time.sleep(5)
        proxy.restore()

    fault = threading.Thread(target=outage)
    fault.start()
    attempts = w.load(seconds=9, threads=6, limit=3000)
    fault.join()

    statuses = Counter(a.status for a in attempts)
    assert set(statuses) <= {202, 503}, statuses
    assert statuses[202] > 0 and statuses[503] > 0, statuses  # the outage did hit the load
    accepted = {a.payment_id for a in attempts if a.status == 202}
    assert len(accepted) == statuses[202]

    stored = w.wait_stored(len(accepted))
    assert len(stored) == len(set(stored))
    assert accepted <= set(stored), "a 202 was lost"
    # A 503 says "not accepted". Only a send cut off mid-flight (the request reached SQS,
    # the answer did not) may still land; nothing else may appear in MySQL.
    ambiguous = [a for a in attempts if a.status == 503 and a.started <= cut_at[0] <= a.ended]
    assert len(set(stored) - accepted) <= len(ambiguous)

    # 503s were never counted: the live statistics hold exactly the 202s
    graph = w.graph()
    stats = graph.statistics.snapshot(1200, "EUR")["payments"]
    assert stats["count"] == statuses[202]


def test_a_503_retried_with_its_idempotency_key_lands_exactly_once(world: Callable[..., World]) -> None:
    w = world(proxied=("sqs",))
    keys = [f"k-{uuid.uuid4().hex}" for _ in range(30)]
    first = {key: w.pay("2.00", key=key) for key in keys[:10]}
    w.proxies["sqs"].cut()
    during = {key: w.pay("2.00", key=key) for key in keys[10:]}
    w.proxies["sqs"].restore()
    assert {a.status for a in first.values()} == {202}
    assert {a.status for a in during.values()} == {503}
    retried = {key: w.pay("2.00", key=key) for key in keys}  # the client retries everything
    assert {a.status for a in retried.values()} == {202}
    assert {retried[k].payment_id for k in keys[:10]} == {first[k].payment_id for k in keys[:10]}

    stored = w.wait_stored(len(keys))
    assert sorted(stored) == sorted(a.payment_id for a in retried.values())
    assert w.graph().statistics.snapshot(1200, "EUR")["payments"]["count"] == len(keys)
