"""Lambda's scaling of an SQS event source mapping, locally.

Lambda starts a mapping with five concurrent batches and, while messages keep waiting,
adds pollers; when traffic falls it scales back. Here a mapping starts ``initial`` pollers;
a batch that comes back full means a backlog, and adds one poller (at most one per
``step_seconds``) up to ``maximum``; a poller that finds the queue empty retires while more
than ``initial`` run. No extra SQS calls: the pollers' own receives are the signal.

>>> started = []
>>> scaling = PollerScaling(lambda: started.append(object()) or started[-1], initial=2, maximum=3, step_seconds=0)
>>> scaling.start()
>>> scaling.size
2
>>> scaling.full_batch()  # a backlog: one more
>>> scaling.full_batch()  # already at the maximum
>>> scaling.size
3
>>> scaling.may_retire(started[-1]), scaling.may_retire(started[0])  # empty queue: back to 2
(True, False)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

Poller = TypeVar("Poller")


class PollerScaling(Generic[Poller]):
    def __init__(
        self,
        start_poller: Callable[[], Poller],
        initial: int,
        maximum: int,
        step_seconds: float = 1.0,
        name: str = "",
    ) -> None:
        self.name = name
        self._start_poller = start_poller
        self.initial = initial
        self.maximum = max(initial, maximum)
        self._step = step_seconds
        self._lock = threading.Lock()
        self._pollers: list[Poller] = []
        self._last_step = float("-inf")

    @property
    def size(self) -> int:
        return len(self._pollers)

    def pollers(self) -> list[Poller]:
        with self._lock:
            return list(self._pollers)

    def start(self) -> None:
        with self._lock:
            for _ in range(self.initial):
                self._add()

    def full_batch(self) -> None:
        """A poller's batch came back full: messages are waiting, scale up by one."""
        with self._lock:
            if len(self._pollers) >= self.maximum or time.monotonic() - self._last_step < self._step:
                return
            self._last_step = time.monotonic()
            self._add()

    def may_retire(self, poller: Poller) -> bool:
        """A poller found the queue empty: it stops if more than ``initial`` are running."""
        with self._lock:
            if len(self._pollers) <= self.initial or poller not in self._pollers:
                return False
            self._pollers.remove(poller)
            return True

    def _add(self) -> None:  # under the lock
        self._pollers.append(self._start_poller())
