"""Coalescer: concurrent calls share a batch call; each caller gets its own answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.batching import Coalescer, one_by_one
from functions.errors import DependencyDown


def test_calls_arriving_within_the_window_share_one_batch_call() -> None:
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches.append(items)
        return [i * 10 for i in items]

    # the collector sleeps out a long window rather than leaving with the first arrival
    submit = Coalescer(run, max_wait_ms=500, senders=1).submit
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(submit, [1, 2, 3, 4]))
    assert answers == [10, 20, 30, 40]
    assert [sorted(b) for b in batches] == [[1, 2, 3, 4]]


def test_a_full_batch_goes_without_waiting_out_the_window() -> None:
    sizes: list[int] = []

    def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return items

    coalescer = Coalescer(run, max_wait_ms=60_000, senders=1)
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(coalescer.submit, i) for i in range(10)]
        assert [f.result(5) for f in futures] == list(range(10)), "not held for the minute-long window"
    assert sizes == [10]


def test_an_item_the_batch_call_refuses_fails_alone() -> None:
    def run(items: list[int]) -> list[int | Exception]:
        return [DependencyDown("sqs", RuntimeError("refused")) if i == 2 else i for i in items]

    submit = Coalescer(run, max_wait_ms=200, senders=1).submit
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(submit, i) for i in (1, 2, 3)]
    assert futures[0].result() == 1 and futures[2].result() == 3
    with pytest.raises(DependencyDown):
        futures[1].result()


def test_a_batch_call_that_answers_the_wrong_number_of_items_fails_them_all() -> None:
    def run(items: list[int]) -> list[int]:
        return items[:-1]

    submit = Coalescer(run, max_wait_ms=0, senders=1, dependency="redis").submit
    with pytest.raises(DependencyDown, match="redis"):
        submit(1)


def test_one_by_one_runs_each_item_on_the_callers_thread() -> None:
    threads: list[str] = []

    def run(items: list[int]) -> list[int | Exception]:
        threads.append(threading.current_thread().name)
        return [ValueError("odd") if i % 2 else i for i in items]

    submit = one_by_one(run)
    assert submit(2) == 2
    with pytest.raises(ValueError):
        submit(3)
    assert threads == [threading.current_thread().name] * 2


def test_items_queued_behind_a_batch_in_flight_go_out_in_full_batches_without_waiting() -> None:
    sizes: list[int] = []
    release = threading.Event()

    def run(items: list[str]) -> list[str]:
        sizes.append(len(items))
        if len(sizes) == 1:
            release.wait(5)  # the first batch in flight
        return [f"m{i}" for i in range(len(items))]

    coalescer = Coalescer(run, max_wait_ms=0, senders=1)
    with ThreadPoolExecutor(max_workers=32) as pool:
        first = pool.submit(coalescer.submit, "first")
        while not sizes:  # the first batch is in flight now
            threading.Event().wait(0.001)
        rest = [pool.submit(coalescer.submit, f"b{i}") for i in range(25)]
        while coalescer.waiting() < 25:
            threading.Event().wait(0.001)
        release.set()
        assert first.result(5) == "m0"
        assert all(f.result(5) for f in rest)
    assert sizes == [1, 10, 10, 5]  # with a zero wait, one at a time before the fix


def test_a_batch_call_that_raises_fails_its_callers_at_once_and_the_sender_goes_on() -> None:
    calls = [0]

    def run(items: list[str]) -> list[str]:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("a bug in the client")
        return [f"m{i}" for i in range(len(items))]

    submit = Coalescer(run, max_wait_ms=0, senders=1, dependency="sqs").submit
    started = time.monotonic()
    with pytest.raises(DependencyDown):
        submit("first")
    assert time.monotonic() - started < 5, "not left waiting for the 15 s timeout"
    assert submit("second") == "m0"
