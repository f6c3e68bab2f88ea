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

from functions.adapters.ports import MessageQueue
from functions.errors import DependencyDown
from functions.statistics.window import Window


class QueueDepths:
    """Example::

    depths = QueueDepths(sqs, lambda: ["surge-payments"])
    depths.snapshot()
    # -> {"surge-payments": {"visible": 3, "in_flight": 10},
    #     "surge-payments-dlq": {"visible": 0, "in_flight": 0}}
    """

    def __init__(
        self,
        queue: MessageQueue,
        names: Callable[[], list[str]],
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._queue = queue
        self._names = names
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[str, Any] = {}
        self._at = float("-inf")

    def snapshot(self) -> dict[str, Any]:
        if self._clock() - self._at < self._ttl:
            return self._cached
        with self._lock:  # one refresh at a time; the others get the fresh copy after it
            if self._clock() - self._at >= self._ttl:
                self._cached = self._read()
                self._at = self._clock()
        return self._cached

    def section(self, window: Window) -> dict[str, Any]:
        """The ``queues`` section of ``GET /statistics``."""
        return self.snapshot()

    def gauges(self) -> dict[str, float]:
        """Prometheus gauges: ``surge_queue_messages{queue=…,state=visible|in_flight}``."""
        result: dict[str, float] = {}
        for name, depth in self.snapshot().items():
            for state in ("visible", "in_flight"):
                if state in depth:
                    result[f'surge_queue_messages{{queue="{name}",state="{state}"}}'] = depth[state]
        return result

    def _read(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for main in self._names():
            for name in (main, f"{main}-dlq"):
                try:
                    result[name] = self._queue.depth(name)
                except DependencyDown:
                    result[name] = {"error": "sqs unavailable"}
        return result
