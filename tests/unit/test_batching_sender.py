"""BatchingSender: what queued up while a batch was in flight goes out together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions.adapters.sqs import BatchingSender
from functions.errors import DependencyDown


class SlowTarget:
    """Records batch sizes; the first send blocks until released (a batch in flight)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.release = threading.Event()

    def send_batch(self, queue: str, entries: list[Any]) -> list[str | Exception]:
        if not self.sizes:
            self.sizes.append(len(entries))
            self.release.wait(5)
        else:
            self.sizes.append(len(entries))
        return [f"m{i}" for i in range(len(entries))]


def test_messages_queued_behind_a_batch_in_flight_go_out_in_full_batches_without_waiting() -> None:
    target = SlowTarget()
    sender = BatchingSender(target, max_wait_ms=0, senders=1)  # type: ignore[arg-type]  # stands in for SqsQueue.send_batch
    with ThreadPoolExecutor(max_workers=32) as pool:
        first = pool.submit(sender.send, "q", "first")
        while not target.sizes:  # the first batch is in flight now
            threading.Event().wait(0.001)
        rest = [pool.submit(sender.send, "q", f"b{i}") for i in range(25)]
        while sender._lanes["q"].waiting() < 25:
            threading.Event().wait(0.001)
        target.release.set()
        assert first.result(5) == "m0"
        assert all(f.result(5) for f in rest)
    assert target.sizes == [1, 10, 10, 5]  # with a zero wait, one at a time before the fix


class FlakyTarget:
    """Raises something unexpected on the first batch, then works."""

    def __init__(self) -> None:
        self.calls = 0

    def send_batch(self, queue: str, entries: list[Any]) -> list[str | Exception]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug in the client")
        return [f"m{i}" for i in range(len(entries))]


def test_a_batch_call_that_raises_fails_its_callers_at_once_and_the_sender_goes_on() -> None:
    sender = BatchingSender(FlakyTarget(), max_wait_ms=0, senders=1)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(DependencyDown):
        sender.send("q", "first")
    assert time.monotonic() - started < 5, "not left waiting for the 15 s timeout"
    assert sender.send("q", "second") == "m0"
