"""Coalescing concurrent calls into batch calls: one round trip for many requests.

``Coalescer(run).submit(item)`` hands ``item`` to a sender thread, which calls ``run`` with
up to ``max_batch`` items collected within ``max_wait_ms`` and answers each caller with its
own answer. A long-lived gateway process uses it; a Lambda function, which serves one
request at a time, calls ``run`` with one item (``one_by_one``): both are a ``Batching``.

>>> double = Coalescer(lambda items: [2 * item for item in items], max_wait_ms=1).submit
>>> double(21)
42
>>> one_by_one(lambda items: [2 * item for item in items])(21)
42
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from functions.errors import DependencyDown

T = TypeVar("T")
R = TypeVar("R")

# A batch call: one answer per item, in order — a value, or the exception of that item alone.
Run = Callable[[list[T]], Sequence[R | Exception]]
# What turns a batch call into a call per item: ``Coalescer(run, …).submit`` or ``one_by_one(run)``.
Batching = Callable[[Run[T, R]], Callable[[T], R]]


def one_by_one(run: Run[T, R]) -> Callable[[T], R]:
    """Each item in a batch of its own, on the caller's thread (Lambda: one request at a time)."""

    def submit(item: T) -> R:
        (answer,) = run([item])
        if isinstance(answer, Exception):
            raise answer
        return answer

    return submit


def coalescing(max_wait_ms: float, senders: int, dependency: str) -> Batching[T, R]:
    """The ``Batching`` of a long-lived process: a ``Coalescer`` per batch call."""
    return lambda run: Coalescer(run, max_wait_ms, senders, dependency).submit


class _Pending(Generic[T, R]):
    """One caller's item and, once its batch is back, its answer. ``done`` is a plain lock held
    until then: one C-level wake-up per item, cheaper than a ``Future`` and its ``Condition``."""

    __slots__ = ("answer", "done", "item")

    def __init__(self, item: T):
        self.item = item
        self.answer: R | Exception | None = None
        self.done = threading.Lock()
        self.done.acquire()


class Coalescer(Generic[T, R]):
    """Concurrent ``submit`` calls become calls of ``run`` with up to ``max_batch`` items.

    ``senders`` threads (started on the first submit) take turns: one collects a batch while
    the others' batches are in flight. A collector waits at most ``max_wait_ms`` for a batch to
    fill, sleeping about as long as the rest of it takes to arrive at the recent rate rather
    than waking for every arrival. If ``run`` raises, every item of its batch fails with
    ``DependencyDown(dependency)``; a caller waits at most ``timeout`` seconds.
    """

    def __init__(
        self,
        run: Run[T, R],
        max_wait_ms: float = 2.0,
        senders: int = 2,
        dependency: str = "batch",
        max_batch: int = 10,
        timeout: float = 15.0,
    ):
        if senders < 1 or max_batch < 1:
            raise ValueError("senders and max_batch must be at least 1")
        self._run = run
        self._max_wait = max_wait_ms / 1000
        self._senders = senders
        self._dependency = dependency
        self._max_batch = max_batch
        self._timeout = timeout
        self._queue: queue.SimpleQueue[_Pending[T, R]] = queue.SimpleQueue()
        self._collecting = threading.Lock()
        self._started = False
        self._start_lock = threading.Lock()
        self._rate, self._rate_at = 100.0, time.monotonic()  # items/s, smoothed
        self.batches = 0  # calls of run and the items they carried, for the benchmark
        self.items = 0

    def submit(self, item: T) -> R:
        """``item``'s answer once its batch is back; raises the exception answered for it."""
        if not self._started:
            self._start()
        pending: _Pending[T, R] = _Pending(item)
        self._queue.put(pending)
        if not pending.done.acquire(timeout=self._timeout):
            raise DependencyDown(self._dependency, TimeoutError(f"batch did not finish in {self._timeout:.0f} s"))
        if isinstance(pending.answer, Exception):
            raise pending.answer
        return pending.answer  # type: ignore[return-value]  # set by the batch: an R here

    def waiting(self) -> int:
        """Items submitted and not taken into a batch yet."""
        return self._queue.qsize()

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            for n in range(self._senders):
                threading.Thread(target=self._send_forever, name=f"{self._dependency}-batch-{n}", daemon=True).start()
            self._started = True

    def _take_batch(self) -> list[_Pending[T, R]]:
        batch = [self._queue.get()]
        deadline = time.monotonic() + self._max_wait
        while True:
            try:  # whatever queued up meanwhile (or while the last batch was in flight) goes now
                while len(batch) < self._max_batch:
                    batch.append(self._queue.get_nowait())
                break
            except queue.Empty:
                pass
            now = time.monotonic()
            if now >= deadline:
                break
            # At a few hundred requests/s a wake-up costs more than the item it brings: sleep
            # about as long as the rest of the batch takes to arrive, never past the window.
            time.sleep(min(deadline - now, max((self._max_batch - len(batch)) / self._rate, 0.0002)))
        now = time.monotonic()
        elapsed, self._rate_at = now - self._rate_at, now
        self._rate = 0.8 * self._rate + 0.2 * len(batch) / max(elapsed, 1e-4)
        return batch

    def _send_forever(self) -> None:
        while True:
            # One sender collects at a time, the others send: idle senders collecting side
            # by side would split simultaneous requests into batches of one or two.
            with self._collecting:
                batch = self._take_batch()
            try:
                answers = self._run([pending.item for pending in batch])
                if len(answers) != len(batch):
                    raise RuntimeError(f"the batch call answered {len(answers)} of {len(batch)} items")
            except Exception as exc:  # never leave a caller waiting on a sender that died
                failure = exc if isinstance(exc, DependencyDown) else DependencyDown(self._dependency, exc)
                answers = [failure] * len(batch)
            self.batches += 1
            self.items += len(batch)
            for pending, answer in zip(batch, answers, strict=True):
                pending.answer = answer
                pending.done.release()
