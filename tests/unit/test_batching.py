"""Coalescer: concurrent calls share a batch call; each caller gets its own answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions import batching
from functions.batching import Coalescer, one_by_one
from functions.errors import DependencyDown


def test_calls_arriving_within_the_window_share_one_batch_call() -> None:
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches.append(items)
        return [i * 10 for i in items]

    # the collector sleeps out a long window rather than leaving with the first arrival
    coalescer = Coalescer(run, max_wait_ms=500, senders=1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(coalescer.submit, [1, 2, 3, 4]))
    assert answers == [10, 20, 30, 40]
    assert [sorted(b) for b in batches] == [[1, 2, 3, 4]]
    assert (coalescer.batches, coalescer.items) == (1, 4), "what the benchmark reads"


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
    calls = [0]

    def run(items: list[int]) -> list[int]:
        calls[0] += 1
        if calls[0] == 1:
            return items[:-1]  # an answer short
        return [*items, 0] if calls[0] == 2 else items  # then one too many, then right

    # a short timeout: a sender that died on a wrong count would leave the callers waiting
    submit = Coalescer(run, max_wait_ms=0, senders=1, dependency="redis", timeout=5).submit
    with pytest.raises(DependencyDown, match=r"redis unavailable: .*answered 0 of 1 items"):
        submit(1)
    with pytest.raises(DependencyDown, match=r"redis unavailable: .*answered 2 of 1 items"):
        submit(2)
    assert submit(3) == 3, "the sender goes on"


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


def test_senders_and_batches_hold_at_least_one() -> None:
    for senders, max_batch in ((0, 10), (1, 0)):
        with pytest.raises(ValueError, match="at least 1"):
            Coalescer(lambda items: items, senders=senders, max_batch=max_batch)
    sizes: list[int] = []

    def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return items

    coalescer = Coalescer(run, max_wait_ms=500, senders=1, max_batch=1)
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(coalescer.submit, [1, 2, 3])) == [1, 2, 3]
    assert sizes == [1, 1, 1]


def test_by_default_a_second_sender_collects_while_a_batch_is_in_flight() -> None:
    release = threading.Event()
    in_flight = threading.Event()

    def run(items: list[str]) -> list[str]:
        if items == ["slow"]:
            in_flight.set()
            release.wait(10)
        return items

    coalescer = Coalescer(run, max_wait_ms=0)  # the default senders
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(coalescer.submit, "slow")
        assert in_flight.wait(5)
        try:
            assert pool.submit(coalescer.submit, "fast").result(5) == "fast", "not held behind the batch in flight"
        finally:
            release.set()
        assert slow.result(5) == "slow"


class FakeTime:
    """``time`` as the collector sees it: a clock that moves only when it sleeps (or a test moves
    it), and every sleep it asked for. Nothing else reads it, so its timings are exact."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if len(self.sleeps) > 100_000:
            raise RuntimeError("the collector spins")  # its sender dies: the test fails, not the machine
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(batching, "time", fake)
    return fake


def test_a_collector_never_sleeps_past_its_window(clock: FakeTime) -> None:
    # the rest of a batch of 1,000 would take ~10 s at the starting estimate: the window is 50 ms
    coalescer: Coalescer[str, str] = Coalescer(
        lambda items: items, max_wait_ms=50, senders=1, max_batch=1000, timeout=5
    )
    started = clock.now
    assert coalescer.submit("lone") == "lone"
    assert clock.sleeps and max(clock.sleeps) <= 0.05
    assert clock.now - started == pytest.approx(0.05), "the window waited out, not overslept"


def naps_after_full_batches(clock: FakeTime, every: float, then: int) -> list[float]:
    """40 full batches of 10, one every ``every`` seconds, then a batch of ``then`` items that
    waits out a 10 s window: the naps of its collector."""
    go = threading.Semaphore(0)
    sizes: list[int] = []

    def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        go.acquire(timeout=10)  # each batch in flight until the test lets it go
        return items

    coalescer = Coalescer(run, max_wait_ms=10_000, senders=1, max_batch=10, timeout=20)

    def until(condition: Callable[[], bool]) -> None:
        for _ in range(10_000):
            if condition():
                return
            time.sleep(0.001)
        raise AssertionError("the sender did not get there")

    def batches_taken(count: int) -> Callable[[], bool]:
        return lambda: len(sizes) == count

    with ThreadPoolExecutor(max_workers=20) as pool:  # a batch's callers waiting, the next batch's queued
        futures = [pool.submit(coalescer.submit, -1)]
        until(batches_taken(1))
        for n in range(40):
            futures += [pool.submit(coalescer.submit, i) for i in range(10)]
            until(lambda: coalescer.waiting() == 10)
            clock.now += every
            go.release()
            until(batches_taken(n + 2))
        assert sizes[1:] == [10] * 40, "full batches go without sleeping"
        clock.sleeps.clear()
        futures += [pool.submit(coalescer.submit, i) for i in range(then)]
        until(lambda: coalescer.waiting() == then)
        go.release()
        until(batches_taken(42))
        for _ in range(42):
            go.release()
        assert all(f.result(10) is not None for f in futures)
    assert sizes[-1] == then
    assert sum(clock.sleeps) == pytest.approx(10.0), "the window waited out: nothing else came"
    assert clock.sleeps[:-1] == [clock.sleeps[0]] * (len(clock.sleeps) - 1), "naps of one length, the last cut short"
    return clock.sleeps


def test_a_collector_sleeps_about_as_long_as_the_rest_of_its_batch_takes_at_the_recent_rate(clock: FakeTime) -> None:
    # 13.3 items/s: the 6 missing from a batch of 4 take about 0.45 s
    naps = naps_after_full_batches(clock, every=0.75, then=4)
    assert naps[0] == pytest.approx(0.45, rel=0.01)


def test_a_collector_naps_at_least_a_fifth_of_a_millisecond_even_at_a_clock_that_did_not_move(clock: FakeTime) -> None:
    # batches one after another on a clock that did not tick between them (a coarse clock): the
    # rate is taken as 10 items per 0.1 ms, and the last item of a batch of 9 is 0.01 ms away
    naps = naps_after_full_batches(clock, every=0.0, then=9)
    assert naps[0] == pytest.approx(0.0002)
