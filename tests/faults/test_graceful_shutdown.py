"""SIGTERM: the gateway finishes in-flight requests; the workers finish (or leave visible)
the batch in hand; nothing accepted is lost."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest

from tests.faults.world import Attempt, World
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_sigterm_lets_an_in_flight_payment_finish_with_its_202(world: Callable[..., World]) -> None:
    w = world(proxied=("sqs",))
    w.pay("1.00")  # warm: queue url cached, connections open
    w.proxies["sqs"].latency = 1.5  # SQS is slow: the next payment waits on it
    results: list[Attempt] = []
    client = threading.Thread(target=lambda: results.append(w.pay("7.00", timeout=20)))
    client.start()
    time.sleep(0.5)  # the request is inside the gateway, waiting for SQS
    gateway = w.signal("gateway", signal.SIGTERM)
    signalled_at = time.monotonic()
    client.join(timeout=30)
    w.proxies["sqs"].latency = 0

    assert results and results[0].status == 202, results
    assert results[0].started < signalled_at < results[0].ended  # it really was in flight
    gateway.wait(timeout=30)
    assert gateway.returncode is not None  # it did stop…
    assert w.pay("1.00").status == 0  # …and takes no new requests
    stored = w.wait_stored(2)
    assert results[0].payment_id in stored  # the in-flight 202 was durable


def test_sigterm_lets_the_workers_finish_their_batch(world: Callable[..., World]) -> None:
    w = world(proxied=("mysql",))
    w.proxies["mysql"].latency = 0.3  # slow batches
    accepted = {a.payment_id for a in w.load(seconds=2, threads=4, limit=200)}
    assert None not in accepted
    wait_until(lambda: 0 < len(w.mysql_ids()) < len(accepted), 30, 0.05, "workers to be mid-way")

    workers = w.signal("workers", signal.SIGTERM)
    workers.wait(timeout=30)
    assert workers.returncode == 0  # a clean exit, not a kill
    after_stop = set(w.mysql_ids())
    # what it did not store is back in (or still in) the queue; after a restart all lands once
    assert w.depth() >= len(accepted) - len(after_stop)
    w.proxies["mysql"].latency = 0
    w.start_workers()
    stored = w.wait_stored(len(accepted), timeout=60)
    assert len(stored) == len(set(stored)) == len(accepted) and set(stored) == accepted
