"""SQS event source mappings, locally: one or more pollers per ``on_sqs_message`` handler.

Like Lambda's mapping: long polling, batches up to the handler's ``batch_size`` within
its batching window, Lambda-shaped SQS events, and deletion of only the messages the
handler did not list in ``batchItemFailures``. A handler that raises fails the whole
batch; failed messages reappear after the visibility timeout and SQS moves them to the
DLQ after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Chalice
from chalice.app import SQSEventConfig
from chalice.local import LambdaContext

from functions.observability import logger
from functions.runtime.limits import LAMBDA_DEFAULT_MEMORY_MB, LAMBDA_DEFAULT_TIMEOUT_S, FunctionLimits, function_limits
from functions.runtime.scaling import PollerScaling
from functions.workers.queues import queue_of

Handler = Callable[[dict[str, Any], Any], Any]

SQS_MAX_MESSAGES = 10  # per ReceiveMessage, and per DeleteMessageBatch

# within a batching window, how long to wait before asking a queue that had fewer messages
# than asked for again (SQS long polls are whole seconds, too coarse for a window of one)
WINDOW_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Mapping:
    name: str
    queue: str
    batch_size: int
    window_seconds: float
    handler: Handler
    limits: FunctionLimits = field(
        default_factory=lambda: FunctionLimits(LAMBDA_DEFAULT_TIMEOUT_S, LAMBDA_DEFAULT_MEMORY_MB, None)
    )


def mappings_of(app: Chalice) -> list[Mapping]:
    """Batch size and window from the decorator, timeout/memory/concurrency from config.json."""
    return [
        Mapping(
            name=source.name,
            queue=queue_of(source),
            batch_size=source.batch_size,
            window_seconds=source.maximum_batching_window_in_seconds,
            handler=app.handler_map[source.name],
            limits=function_limits(source.name),
        )
        for source in app.event_sources
        if isinstance(source, SQSEventConfig)
    ]


def lambda_record(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


class SqsReachability:
    """Shared by a process's pollers: one warning when SQS goes, one info line when it is
    back, however many pollers notice; and each poller's capped, jittered backoff."""

    FIRST_S = 0.5
    MAX_S = 5.0  # a poller is back at most ~5 s after SQS is

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None

    def failed(self, poller: str, exc: Exception, attempt: int) -> float:
        """Record a failure; return how long this poller should wait before its next try."""
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
        if first:
            logger.warning(
                "SQS unreachable: pollers back off until it answers",
                extra={"poller": poller, "error": f"{type(exc).__name__}: {str(exc)[:200]}"},
            )
        # full jitter: pollers of many processes do not retry in step
        return random.uniform(0, min(self.MAX_S, self.FIRST_S * 2**attempt))

    def succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            logger.info("SQS reachable again", extra={"down_s": round(time.monotonic() - since, 1)})


class InvocationThread:
    """One daemon thread that runs a function's invocations one after another, as a warm
    Lambda environment does: what the handler keeps per thread (its MySQL connection) lives
    from batch to batch. A daemon, so a handler that never returns cannot hold up an exit.

    >>> invoker = InvocationThread("example")
    >>> done, outcome = invoker.submit(lambda event, context: event["n"] + 1, {"n": 1}, None)
    >>> done.wait(5), outcome
    (True, {'result': 2})
    >>> invoker.retire()
    """

    def __init__(self, function: str) -> None:
        self._function = function
        self._jobs: queue.SimpleQueue[tuple[Handler, dict[str, Any], Any, threading.Event, dict[str, Any]] | None]
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=f"invoke-{function}", daemon=True).start()

    def submit(self, handler: Handler, event: dict[str, Any], context: Any) -> tuple[threading.Event, dict[str, Any]]:
        """Queue one invocation; ``done`` is set when ``outcome`` holds its result or error."""
        done, outcome = threading.Event(), dict[str, Any]()
        self._jobs.put((handler, event, context, done, outcome))
        return done, outcome

    def retire(self) -> None:
        """The thread ends after the invocation it is running (a timed-out one runs on)."""
        self._jobs.put(None)

    def _serve(self) -> None:
        logger.thread_safe_append_keys(function=self._function)
        while (job := self._jobs.get()) is not None:
            handler, event, context, done, outcome = job
            try:
                outcome["result"] = handler(event, context)
            except BaseException as exc:
                outcome["error"] = exc
            done.set()


class SqsPoller(threading.Thread):
    """Polls one queue and invokes one handler, until ``stop`` is set.

    A batch in progress always completes: on shutdown its successes are deleted and
    the rest stay invisible until their timeout, exactly as on Lambda. While
    ``draining`` it polls briefly and reports ``idle`` once a receive comes back empty.
    """

    def __init__(
        self,
        client: Any,
        mapping: Mapping,
        stop: threading.Event,
        region: str,
        wait_seconds: int = 5,
        reachability: SqsReachability | None = None,
        scaling: PollerScaling[SqsPoller] | None = None,
        turn: threading.Lock | None = None,
    ):
        super().__init__(name=f"poller-{mapping.name}", daemon=True)
        self._client = client
        self._mapping = mapping
        self._halt = stop
        self._region = region
        self._wait = wait_seconds
        self._reachability = reachability or SqsReachability()
        self._scaling = scaling
        self._turn = turn  # shared by a mapping's pollers: who collects a batch from a trickle
        self._url = ""
        self._arn = ""
        self.batches = 0
        self.draining = False
        self.idle = False
        self.backlog = False  # the last batch found messages waiting throughout (``_collect``)
        self._invoker = InvocationThread(mapping.name)

    def _resolve(self) -> None:
        """The queue's url and ARN, looked up on first use (SQS may be down at start)."""
        if not self._url:
            url = self._client.get_queue_url(QueueName=self._mapping.queue)["QueueUrl"]
            attributes = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            self._arn, self._url = attributes["Attributes"]["QueueArn"], url

    def _receive(self, limit: int, wait: int) -> list[dict[str, Any]]:
        response = self._client.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=min(SQS_MAX_MESSAGES, limit),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _collect(self) -> list[dict[str, Any]]:
        """Like Lambda: after the first message, keep polling until the batch is full or
        the batching window has passed. Fuller batches mean fewer receive, delete and
        MySQL commits per message; the 202 was given long before, so this costs no client
        any latency, only the time until ``stored``.

        ``backlog`` tells whether messages were waiting throughout: every receive came back
        full. A batch that filled only because the window let a steady stream trickle in is
        no backlog, and adds no poller (more pollers would split the stream into more,
        smaller receives).

        A mapping's pollers take turns (``turn``): one collects from a trickle while the
        others run their batches or wait, so a steady stream is not split into small
        receives and an idle queue has one long poll, not one per poller. A first receive
        that comes back full is a backlog: the turn passes on at once and pollers collect
        side by side, as many as the scaling has started."""
        self._resolve()
        wait = min(self._wait, 1) if self.draining else self._wait
        held = self._turn  # released once the batch is collected, or at once on a backlog
        if held is not None and not held.acquire(timeout=wait):
            self.backlog = False  # another poller held the turn for a whole long poll
            return []
        try:
            messages = self._receive(self._mapping.batch_size, wait)
            if not messages:
                self.backlog = False
                return []
            deadline = time.monotonic() + self._mapping.window_seconds
            short = len(messages) < min(SQS_MAX_MESSAGES, self._mapping.batch_size)
            self.backlog = not short
            if self.backlog and held is not None:
                held.release()
                held = None
            while len(messages) < self._mapping.batch_size:
                if short:
                    # a trickle: wait a little before asking again, so a slow stream fills the
                    # batch in a few receives rather than one receive per message
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._halt.wait(min(remaining, WINDOW_POLL_SECONDS)):
                        break  # the window has passed, or we are stopping: handle what we have
                asked = min(SQS_MAX_MESSAGES, self._mapping.batch_size - len(messages))
                more = self._receive(asked, 0)
                messages.extend(more)
                short = len(more) < asked
                self.backlog = self.backlog and not short
            return messages
        finally:
            if held is not None:
                held.release()

    def _invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on this poller's invocation thread and wait at most the function's
        timeout.

        The thread lives from batch to batch, like a warm Lambda environment, so what the
        handler keeps per thread (its MySQL connection) is reused rather than opened per
        batch. Past the timeout the batch is abandoned: nothing is deleted, its messages come
        back after the visibility timeout, and the next batch gets a fresh thread (Lambda
        starts a fresh environment after a timeout). Python cannot kill the old thread, so
        unlike Lambda the handler runs on in the background; the workers' idempotent writes
        make its late work harmless."""
        limits = self._mapping.limits
        context = LambdaContext(
            self._mapping.name, memory_size=limits.memory_mb, max_runtime_ms=int(limits.timeout_s * 1000)
        )
        done, outcome = self._invoker.submit(self._mapping.handler, event, context)
        if not done.wait(limits.timeout_s):
            self._invoker.retire()
            self._invoker = InvocationThread(self._mapping.name)
            logger.error(
                f"Task timed out after {limits.timeout_s:.2f} seconds; the batch comes back after the visibility"
                " timeout",
                extra={"handler": self._mapping.name, "messages": len(event["Records"])},
            )
            raise TimeoutError(self._mapping.name)
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")

    def run_once(self) -> int:
        """Receive one batch and handle it; return how many messages it held."""
        messages = self._collect()
        if not messages:
            return 0
        event = {"Records": [lambda_record(m, self._arn, self._region) for m in messages]}
        try:
            result = self._invoke(event)
        except TimeoutError:
            return len(messages)  # abandoned, as Lambda abandons a timed-out invocation
        except Exception:
            logger.exception("handler failed; the whole batch will come back", extra={"handler": self._mapping.name})
            return len(messages)
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        failed = {f.get("itemIdentifier") for f in failures}
        if None in failed or "" in failed:
            return len(messages)  # Lambda treats an invalid identifier as a failed batch
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_MESSAGES):
            chunk = done[start : start + SQS_MAX_MESSAGES]
            self._client.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.batches += 1
        return len(messages)

    def run(self) -> None:
        logger.thread_safe_append_keys(function=self._mapping.name)
        failures = 0
        while not self._halt.is_set():
            try:
                handled = self.run_once()
            except Exception as exc:  # SQS unreachable: back off (logged once per outage)
                self.idle = False
                self._halt.wait(self._reachability.failed(self.name, exc, failures))
                failures += 1
                continue
            failures = 0
            self._reachability.succeeded()
            self.idle = handled == 0
            if self._scaling is not None:
                if self.backlog:  # a full batch, from messages that were waiting throughout
                    self._scaling.full_batch()
                elif self.idle and self._scaling.may_retire(self):
                    break
        self._invoker.retire()
