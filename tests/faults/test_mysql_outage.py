"""MySQL down for 10 s: batches fail, messages come back after the visibility timeout and
all land once MySQL is back, exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.faults.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_mysql_outage_delays_storage_but_loses_and_duplicates_nothing(world: Callable[..., World]) -> None:
    # enough receives that nothing reaches the DLQ during a 10 s outage (3 s visibility)
    w = world(proxied=("mysql",), VISIBILITY_TIMEOUT="3", MAX_RECEIVE_COUNT="20")
    w.proxies["mysql"].cut()
    outage_started = time.monotonic()
    attempts = w.load(seconds=3, threads=4, limit=400)
    assert {a.status for a in attempts} == {202}  # accepting needs SQS and Redis, not MySQL
    accepted = {a.payment_id for a in attempts}

    time.sleep(max(0.0, 10 - (time.monotonic() - outage_started)))
    assert w.mysql_ids() == []
    assert w.depth() == len(accepted)  # failed batches went back to the queue, none lost
    assert max(w.receive_counts()) >= 2  # a worker had them already: they came back
    w.proxies["mysql"].restore()

    stored = w.wait_stored(len(accepted), timeout=60)
    assert len(stored) == len(set(stored)) == len(accepted)
    assert set(stored) == accepted
    assert w.depth("payments-dlq") == 0
    assert w.mysql_total() == (len(accepted), Decimal("1.00") * len(accepted))
