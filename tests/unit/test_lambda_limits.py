"""Lambda's limits, locally: read from config.json like ``chalice deploy``; enforced by the pollers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from functions.runtime.limits import FunctionLimits, concurrency, function_limits
from functions.runtime.pollers import Mapping, SqsPoller, SqsReachability
from tests.logs import captured_logs


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({
            "lambda_timeout": 10,
            "stages": {"dev": {"lambda_functions": {"slow": {"lambda_timeout": 3, "reserved_concurrency": 1}}}},
        })
    )  # fmt: skip
    monkeypatch.setenv("SURGE_CHALICE_CONFIG", str(path))
    return path


def test_limits_chain_like_chalice_deploy(config: Path) -> None:
    assert function_limits("slow", "dev") == FunctionLimits(3, 128, 1)
    assert function_limits("other", "dev") == FunctionLimits(10, 128, None)
    assert function_limits("slow", "prod") == FunctionLimits(10, 128, None)


def test_reserved_concurrency_caps_the_pollers() -> None:
    assert concurrency(FunctionLimits(3, 128, None), 2) == 2
    assert concurrency(FunctionLimits(3, 128, None), 4) == 4
    assert concurrency(FunctionLimits(3, 128, 1), 4) == 1
    assert concurrency(FunctionLimits(3, 128, 5), 0) == 0


def sqs_message(n: int, body: str | None = None) -> dict[str, str]:
    """The n-th message of a fake queue, as ReceiveMessage gives it (its body ``n`` unless given)."""
    return {"MessageId": str(n), "ReceiptHandle": f"r{n}", "Body": str(n) if body is None else body}


class FakeSqs:
    """The four calls a poller makes, in memory."""

    def __init__(self, bodies: list[str]):
        self.messages = [sqs_message(i, b) for i, b in enumerate(bodies)]
        self.deleted: list[str] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"http://q/{QueueName}"}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:q"}}

    def receive_message(self, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        taken, self.messages = self.messages[:MaxNumberOfMessages], self.messages[MaxNumberOfMessages:]
        return {"Messages": taken}

    def delete_message_batch(self, Entries: list[dict[str, str]], **_: Any) -> None:
        self.deleted += [e["ReceiptHandle"] for e in Entries]


def poller(sqs: FakeSqs, handler: Any, timeout_s: float) -> SqsPoller:
    mapping = Mapping("fn", "q", 10, 0, handler, FunctionLimits(timeout_s, 128, None))
    return SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=0)


def test_a_batch_past_the_timeout_is_abandoned_and_nothing_is_deleted() -> None:
    sqs = FakeSqs(["a", "b"])
    release = threading.Event()
    contexts: list[Any] = []

    def slow(event: dict[str, Any], context: Any) -> None:
        contexts.append(context)
        release.wait(5)

    started = time.monotonic()
    assert poller(sqs, slow, 0.2).run_once() == 2
    assert time.monotonic() - started < 2
    assert sqs.deleted == []  # both come back after the visibility timeout
    assert contexts[0].get_remaining_time_in_millis() <= 200
    release.set()


def test_a_batch_within_the_timeout_deletes_its_successes() -> None:
    sqs = FakeSqs(["a", "b"])
    handled = poller(sqs, lambda event, _: {"batchItemFailures": [{"itemIdentifier": "1"}]}, 5).run_once()
    assert handled == 2 and sqs.deleted == ["r0"]


def test_batches_run_on_one_warm_thread_and_a_timeout_starts_a_fresh_one() -> None:
    """Like a warm Lambda environment: what a handler keeps per thread (its MySQL connection)
    lives from batch to batch; after a timeout the next batch gets a fresh thread."""
    sqs = FakeSqs(["a", "b", "c", "d"])
    threads: list[int] = []
    release = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        threads.append(threading.get_ident())
        if len(threads) == 2:
            release.wait(5)  # the second batch times out

    mapping = Mapping("fn", "q", 1, 0, handler, FunctionLimits(0.3, 128, None))
    polling = SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=0)
    for _ in range(3):
        assert polling.run_once() == 1
    release.set()
    assert threads[0] == threads[1]  # warm: the same thread
    assert threads[2] != threads[1]  # the timed-out thread was retired
    assert sqs.deleted == ["r0", "r2"]


class LockedSqs(FakeSqs):
    """FakeSqs for several poller threads at once."""

    def __init__(self, bodies: list[str]):
        super().__init__(bodies)
        self._lock = threading.Lock()

    def receive_message(self, MaxNumberOfMessages: int, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            return super().receive_message(MaxNumberOfMessages, **kwargs)

    def delete_message_batch(self, Entries: list[dict[str, str]], **kwargs: Any) -> None:
        with self._lock:
            super().delete_message_batch(Entries, **kwargs)


def test_a_backlog_adds_pollers_up_to_the_maximum_and_an_empty_queue_retires_them() -> None:
    """Like Lambda's mapping: full batches (messages waiting) add pollers, one per step, up to
    the maximum; once the queue is empty the extra pollers stop and the initial ones stay."""
    from functions.runtime.scaling import PollerScaling

    sqs = LockedSqs([str(n) for n in range(400)])
    stop = threading.Event()
    seen: set[int] = set()
    peak = 0

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.add(threading.get_ident())
        time.sleep(0.002)

    mapping = Mapping("fn", "q", 2, 0, handler, FunctionLimits(5, 128, None))

    def start_poller() -> SqsPoller:
        poller = SqsPoller(sqs, mapping, stop, "us-east-1", wait_seconds=0, scaling=scaling)
        poller.start()
        return poller

    scaling: PollerScaling[SqsPoller] = PollerScaling(start_poller, initial=1, maximum=3, step_seconds=0.01)
    scaling.start()
    try:
        deadline = time.monotonic() + 10
        while len(sqs.deleted) < 400 and time.monotonic() < deadline:
            peak = max(peak, scaling.size)
            time.sleep(0.005)
        while scaling.size > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
    assert sorted(sqs.deleted) == sorted(f"r{n}" for n in range(400))  # each message once
    assert peak == 3 and len(seen) == 3  # scaled up to the maximum, never past it
    assert scaling.size == 1  # back to the initial poller once the queue is empty


class TrickleSqs(FakeSqs):
    """A steady stream: ``per_receive`` new messages become visible before every receive."""

    def __init__(self, per_receive: int):
        super().__init__([])
        self._next = 0
        self._per_receive = per_receive
        self.receives: list[tuple[float, int, int]] = []  # (when, asked, got)

    def receive_message(self, MaxNumberOfMessages: int, **kwargs: Any) -> dict[str, Any]:
        for _ in range(self._per_receive):
            n, self._next = self._next, self._next + 1
            self.messages.append(sqs_message(n))
        answer = super().receive_message(MaxNumberOfMessages, **kwargs)
        self.receives.append((time.monotonic(), MaxNumberOfMessages, len(answer["Messages"])))
        return answer


class RecordingScaling:
    """The two calls a poller makes on its mapping's scaling, counted."""

    def __init__(self, retire: bool):
        self.added = 0
        self._retire = retire

    def full_batch(self) -> None:
        self.added += 1

    def may_retire(self, poller: Any) -> bool:
        return self._retire


def batches_until(count: int, stop: threading.Event) -> tuple[list[int], Any]:
    """A handler that records each batch's size and sets ``stop`` after ``count`` batches."""
    batches: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        batches.append(len(event["Records"]))
        if len(batches) == count:
            stop.set()

    return batches, handler


def test_a_trickle_is_asked_again_only_after_a_pause_and_adds_no_poller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the batching window, a receive that came back short is followed by a pause, not
    another receive at once (each receive costs the emulator and the worker a round trip); and
    a batch filled by a trickle is no backlog: it does not scale the pollers up."""
    from functions.runtime import pollers

    monkeypatch.setattr(pollers, "WINDOW_POLL_SECONDS", 0.05)
    sqs = TrickleSqs(per_receive=3)
    scaling = RecordingScaling(retire=False)

    stop = threading.Event()
    batches, handler = batches_until(2, stop)
    mapping = Mapping("fn", "q", 9, 5, handler, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, stop, "us-east-1", wait_seconds=0, scaling=scaling)  # type: ignore[arg-type]
    polling.run()
    assert batches == [9, 9]  # full batches, of three receives each
    assert len(sqs.receives) == 6
    for (before, asked, got), (after, _, _) in zip(sqs.receives, sqs.receives[1:], strict=False):
        if got < asked and after - before < 0.04:
            pytest.fail(f"asked again {1000 * (after - before):.1f} ms after a short answer")
    assert scaling.added == 0  # a trickle filled the batches: no backlog


def test_messages_waiting_throughout_a_batch_are_a_backlog() -> None:
    sqs = FakeSqs([str(n) for n in range(30)])
    scaling = RecordingScaling(retire=True)

    mapping = Mapping("fn", "q", 20, 0.3, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=0, scaling=scaling)  # type: ignore[arg-type]
    polling.run()  # two batches (20, then 10 that trickle), then an empty queue: retires
    assert scaling.added == 1  # the first batch found every receive full; the second did not
    assert len(sqs.deleted) == 30


def test_each_batch_says_whether_it_was_a_backlog() -> None:
    sqs = FakeSqs([str(n) for n in range(30)])
    mapping = Mapping("fn", "q", 20, 0.3, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=0)
    assert (polling.run_once(), polling.backlog) == (20, True)  # two full receives
    assert (polling.run_once(), polling.backlog) == (10, False)  # a full one, then an empty one
    assert (polling.run_once(), polling.backlog) == (0, False)
    assert polling.batches == 2  # batches handled


class WaitRecordingSqs(FakeSqs):
    def __init__(self, bodies: list[str]) -> None:
        super().__init__(bodies)
        self.waits: list[int] = []

    def receive_message(self, MaxNumberOfMessages: int, **kwargs: Any) -> dict[str, Any]:
        self.waits.append(kwargs["WaitTimeSeconds"])
        return super().receive_message(MaxNumberOfMessages, **kwargs)


def test_a_draining_poller_long_polls_one_second() -> None:
    """Draining ends when a receive comes back empty: a long poll of one second, so that an empty
    answer means an empty queue (a short poll may miss messages), without the usual five."""
    sqs = WaitRecordingSqs([])
    mapping = Mapping("fn", "q", 10, 0, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=5)
    polling.run_once()
    polling.draining = True
    polling.run_once()
    assert sqs.waits == [5, 1]


def test_only_a_batchs_first_receive_long_polls() -> None:
    """Within the batching window the receives after the first ask without waiting: an empty
    queue must not hold a batch up past its window."""
    sqs = WaitRecordingSqs([str(n) for n in range(15)])
    mapping = Mapping("fn", "q", 20, 0.05, lambda event, context: None, FunctionLimits(5, 128, None))
    assert SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=5).run_once() == 15
    assert sqs.waits[0] == 5 and len(sqs.waits) >= 2 and set(sqs.waits[1:]) == {0}


def test_pollers_back_off_with_full_jitter_doubling_up_to_five_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high  # the longest wait the jitter allows

    monkeypatch.setattr("functions.runtime.pollers.random.uniform", uniform)
    reachability = SqsReachability()
    waits = [reachability.failed("p", ConnectionError("down"), attempt) for attempt in range(5)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert {low for low, _ in bounds} == {0}


def test_an_outage_is_logged_once_and_its_end_with_how_long_it_lasted(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [5.0]
    monkeypatch.setattr("functions.runtime.pollers.time.monotonic", lambda: clock[0])
    reachability = SqsReachability()
    with captured_logs() as lines:
        reachability.succeeded()  # reachable all along: nothing to say
        for attempt in range(3):
            reachability.failed(f"poller-{attempt}", ConnectionError("down"), attempt)
        clock[0] += 12.34
        reachability.succeeded()
        reachability.succeeded()
    assert [line["message"] for line in lines] == [
        "SQS unreachable: pollers back off until it answers",
        "SQS reachable again",
    ]
    assert lines[0]["poller"] == "poller-0" and lines[1]["down_s"] == 12.3


def test_the_lambda_context_counts_down_from_the_functions_timeout() -> None:
    remaining: list[float] = []
    mapping = Mapping(
        "fn", "q", 10, 0, lambda event, context: remaining.append(context.get_remaining_time_in_millis()),
        FunctionLimits(300, 128, None),
    )  # fmt: skip
    SqsPoller(FakeSqs(["a"]), mapping, threading.Event(), "us-east-1", wait_seconds=0).run_once()
    assert 299_800 < remaining[0] <= 300_000


def test_a_trickle_fills_a_batch_for_as_long_as_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batching window closes a batch a trickle has not filled: after about its length."""
    monkeypatch.setattr("functions.runtime.pollers.WINDOW_POLL_SECONDS", 0.02)
    sqs = TrickleSqs(per_receive=1)
    mapping = Mapping("fn", "q", 100, 0.2, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=0)
    started = time.monotonic()
    handled = polling.run_once()
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.5
    assert 5 <= handled <= 12  # one message a receive, a receive every 20 ms for 200 ms


class FailingAfterEmptySqs(FakeSqs):
    """An empty queue at first, then unreachable."""

    def __init__(self) -> None:
        super().__init__([])
        self.receives = 0
        self.failing = threading.Event()

    def receive_message(self, MaxNumberOfMessages: int, **kwargs: Any) -> dict[str, Any]:
        self.receives += 1
        if self.receives == 1:
            return {"Messages": []}
        self.failing.set()
        raise ConnectionError("SQS is gone")


class RecordingReachability(SqsReachability):
    """Records each failure's attempt number; no back-off wait."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[int] = []

    def failed(self, poller: str, exc: Exception, attempt: int) -> float:
        self.attempts.append(attempt)
        return 0.01


def test_an_unreachable_queue_is_not_an_empty_one() -> None:
    """A drain waits for every poller to find its queue empty: a poller that cannot reach SQS
    is not idle, even if its last receive had found the queue empty. Each failure in a row
    counts one attempt more (the back-off doubles per attempt)."""
    sqs = FailingAfterEmptySqs()
    stop = threading.Event()
    reachability = RecordingReachability()
    mapping = Mapping("fn", "q", 10, 0, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, stop, "us-east-1", wait_seconds=0, reachability=reachability)
    assert polling.daemon  # a poller stuck in a receive cannot hold up the worker's exit
    polling.start()
    try:
        assert sqs.failing.wait(5)
        time.sleep(0.05)  # the failure is recorded right after the receive raised
        assert polling.idle is False
    finally:
        stop.set()
        polling.join(5)
    assert reachability.attempts[:3] == [0, 1, 2]


def test_a_poller_that_starts_without_sqs_backs_off_from_the_first_attempt() -> None:
    sqs = FailingAfterEmptySqs()
    sqs.receives = 1  # unreachable from the first receive on
    stop, reachability = threading.Event(), RecordingReachability()
    mapping = Mapping("fn", "q", 10, 0, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, stop, "us-east-1", wait_seconds=0, reachability=reachability)
    polling.start()
    assert sqs.failing.wait(5)
    stop.set()
    polling.join(5)
    assert reachability.attempts[0] == 0


class OverlapSqs(LockedSqs):
    """LockedSqs whose receives take a few ms, counting how many were in flight at once;
    ``per_receive`` new messages become visible before each receive (0: none arrive)."""

    def __init__(self, bodies: list[str], per_receive: int = 0):
        super().__init__(bodies)
        self._per_receive = per_receive
        self._next = len(bodies)
        self._flight = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.receives = 0

    def receive_message(self, MaxNumberOfMessages: int, **kwargs: Any) -> dict[str, Any]:
        with self._flight:
            self.in_flight += 1
            self.receives += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            for _ in range(self._per_receive):
                n, self._next = self._next, self._next + 1
                self.messages.append(sqs_message(n))
        try:
            time.sleep(0.005)
            return super().receive_message(MaxNumberOfMessages, **kwargs)
        finally:
            with self._flight:
                self.in_flight -= 1


def run_pollers(sqs: OverlapSqs, mapping: Mapping, stop: threading.Event, count: int) -> None:
    """``count`` pollers of one mapping sharing its turn, as the worker starts them; until ``stop``."""
    turn = threading.Lock()
    pollers = [SqsPoller(sqs, mapping, stop, "us-east-1", wait_seconds=1, turn=turn) for _ in range(count)]
    for p in pollers:
        p.start()
    stop.wait(10)
    stop.set()
    for p in pollers:
        p.join(5)


def test_a_mappings_pollers_take_turns_on_a_trickle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three pollers on a steady stream: one collects at a time, so the stream is not split
    into three pollers' small receives (each a round trip for the emulator and the worker)."""
    from functions.runtime import pollers

    monkeypatch.setattr(pollers, "WINDOW_POLL_SECONDS", 0.01)
    sqs = OverlapSqs([], per_receive=2)
    stop = threading.Event()
    batches, handler = batches_until(6, stop)
    run_pollers(sqs, Mapping("fn", "q", 8, 5, handler, FunctionLimits(5, 128, None)), stop, 3)
    assert len(batches) >= 6
    assert sqs.most_in_flight == 1  # never two receives at once
    assert batches[:6] == [8] * 6  # full batches: whoever collects gets the whole stream


def test_on_a_backlog_the_pollers_collect_side_by_side() -> None:
    """Messages waiting: a first receive that comes back full passes the turn on at once, so
    the pollers the scaling started drain the backlog together."""
    sqs = OverlapSqs([str(n) for n in range(300)])
    stop = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        if len(sqs.deleted) >= 250:
            stop.set()

    run_pollers(sqs, Mapping("fn", "q", 20, 0, handler, FunctionLimits(5, 128, None)), stop, 3)
    assert sqs.most_in_flight > 1


def test_a_poller_without_the_turn_asks_sqs_nothing() -> None:
    """While another poller of the mapping collects, a poller waits for the turn at most as
    long as a long poll would, then reports an empty receive (it may retire)."""
    sqs = OverlapSqs(["a"])
    turn = threading.Lock()
    turn.acquire()
    mapping = Mapping("fn", "q", 10, 0, lambda event, context: None, FunctionLimits(5, 128, None))
    polling = SqsPoller(sqs, mapping, threading.Event(), "us-east-1", wait_seconds=0, turn=turn)
    assert polling.run_once() == 0
    assert sqs.receives == 0 and not polling.backlog
    turn.release()
    assert polling.run_once() == 1  # its turn: it receives
    assert not turn.locked()  # and gives the turn back
