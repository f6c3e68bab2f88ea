"""Depth of every consumed queue and its DLQ, cached briefly per process.

``GET /statistics`` is polled by every open dashboard; asking SQS each time would make
it as slow as SQS. One refresh per ``ttl`` seconds per process is plenty for a page that
updates every few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from functions.errors import DependencyDown
from functions.ports import MessageQueue
from functions.statistics.window import Window
from functions.telemetry.metrics import Increments, series_name


class QueueDepths:
    """Depths of each queue and its DLQ, read at most once per ``ttl`` seconds.

    >>> from tests.fakes import FakeQueue
    >>> queue = FakeQueue()
    >>> queue.in_flight["surge-payments"] = 10
    >>> QueueDepths(queue, lambda: ["surge-payments"]).snapshot()
    {'surge-payments': {'visible': 0, 'in_flight': 10}, 'surge-payments-dlq': {'visible': 0, 'in_flight': 0}}
    """

    def __init__(
        self,
        queue: MessageQueue,
        names: Callable[[], list[str]],
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_refresh: Callable[[dict[str, Any]], None] | None = None,
    ):
        self._queue = queue
        self._names = names
        self._ttl = ttl
        self._clock = clock
        self._on_refresh = on_refresh  # e.g. emit the depths as CloudWatch metrics on Lambda
        self._lock = threading.Lock()
        self._cached: dict[str, Any] = {}
        self._at = float("-inf")

    def snapshot(self) -> dict[str, Any]:
        if self._clock() - self._at < self._ttl:
            return self._cached
        if not self._cached:  # the first answer has nothing older to give: wait for SQS once
            with self._lock:
                self._refresh()
            return self._cached
        # stale: answer with the previous copy at once and refresh on a thread of its own,
        # so no /statistics request ever waits for SQS (it would be its p99)
        previous = self._cached
        if self._lock.acquire(blocking=False):
            threading.Thread(target=self._refresh_then_release, name="queue-depths", daemon=True).start()
        return previous

    def wait_refreshed(self, timeout: float = 5.0) -> None:
        """Block until a refresh in progress (if any) is done; for tests and shutdown."""
        if self._lock.acquire(timeout=timeout):
            self._lock.release()

    def _refresh_then_release(self) -> None:
        try:
            self._refresh()
        finally:
            self._lock.release()

    def _refresh(self) -> None:
        if self._clock() - self._at < self._ttl:
            return
        self._cached = self._read()
        self._at = self._clock()
        if self._on_refresh is not None:
            self._on_refresh(self._cached)

    def section(self, window: Window) -> dict[str, Any]:
        """The ``queues`` section of ``GET /statistics``."""
        return self.snapshot()

    def gauges(self) -> dict[str, float]:
        """Prometheus gauges: ``surge_queue_messages{queue=…,state=visible|in_flight}``."""
        return {
            series_name(QUEUE_GAUGE, {"queue": name, "state": state}): value
            for name, state, value in depth_values(self.snapshot())
        }

    def _read(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for main in self._names():
            for name in (main, f"{main}-dlq"):
                try:
                    result[name] = self._queue.depth(name)
                except DependencyDown:
                    result[name] = {"error": "sqs unavailable"}
        return result


QUEUE_GAUGE = "surge_queue_messages"


def depth_values(depths: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(queue, visible|in_flight, messages) for every queue that could be read."""
    states = ("visible", "in_flight")
    return [(name, state, depth[state]) for name, depth in depths.items() for state in states if state in depth]


def depth_gauges(depths: dict[str, Any]) -> Increments:
    """The depths as gauges for CloudWatch (EMF): DLQ depth among them."""
    usage = Increments()
    for name, state, value in depth_values(depths):
        usage.gauge(QUEUE_GAUGE, value, queue=name, state=state)
    return usage
