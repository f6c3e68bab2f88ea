"""SQS event source mappings, locally: one or more pollers per ``on_sqs_message`` handler.

Like Lambda's mapping: long polling, batches up to the handler's ``batch_size`` within
its batching window, Lambda-shaped SQS events, and deletion of only the messages the
handler did not list in ``batchItemFailures``. A handler that raises fails the whole
batch; failed messages reappear after the visibility timeout and SQS moves them to the
DLQ after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Chalice
from chalice.app import SQSEventConfig
from chalice.local import LambdaContext

from functions.observability import logger
from functions.workers.queues import queue_of

Handler = Callable[[dict[str, Any], Any], Any]

# within a batching window, how long to wait before asking an empty queue again
# (SQS long polls are whole seconds, too coarse for a window of one)
WINDOW_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Mapping:
    name: str
    queue: str
    batch_size: int
    window_seconds: float
    handler: Handler


def mappings_of(app: Chalice) -> list[Mapping]:
    return [
        Mapping(
            name=source.name,
            queue=queue_of(source),
            batch_size=source.batch_size,
            window_seconds=source.maximum_batching_window_in_seconds,
            handler=app.handler_map[source.name],
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


class SqsPoller(threading.Thread):
    """Polls one queue and invokes one handler, until ``stop`` is set.

    A batch in progress always completes: on shutdown its successes are deleted and
    the rest stay invisible until their timeout, exactly as on Lambda.
    """

    def __init__(self, client: Any, mapping: Mapping, stop: threading.Event, region: str, wait_seconds: int = 5):
        super().__init__(name=f"poller-{mapping.name}", daemon=True)
        self._client = client
        self._mapping = mapping
        self._halt = stop
        self._region = region
        self._wait = wait_seconds
        self._url = client.get_queue_url(QueueName=mapping.queue)["QueueUrl"]
        self._arn = client.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.batches = 0

    def _receive(self, limit: int, wait: int) -> list[dict[str, Any]]:
        response = self._client.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=min(10, limit),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _collect(self) -> list[dict[str, Any]]:
        """Like Lambda: after the first message, keep polling until the batch is full or
        the batching window has passed. Fuller batches mean fewer receive, delete and
        MySQL commits per message; the 202 was given long before, so this costs no client
        any latency, only the time until ``stored``."""
        messages = self._receive(self._mapping.batch_size, self._wait)
        if not messages:
            return []
        deadline = time.monotonic() + self._mapping.window_seconds
        while len(messages) < self._mapping.batch_size:
            more = self._receive(self._mapping.batch_size - len(messages), 0)
            if more:
                messages.extend(more)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._halt.wait(min(remaining, WINDOW_POLL_SECONDS)):
                break  # the window has passed, or we are stopping: handle what we have
        return messages

    def run_once(self) -> int:
        """Receive one batch and handle it; return how many messages it held."""
        messages = self._collect()
        if not messages:
            return 0
        event = {"Records": [lambda_record(m, self._arn, self._region) for m in messages]}
        context = LambdaContext(self._mapping.name, memory_size=512, max_runtime_ms=30_000)
        try:
            result = self._mapping.handler(event, context)
        except Exception:
            logger.exception("handler failed; the whole batch will come back", extra={"handler": self._mapping.name})
            return len(messages)
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        failed = {f.get("itemIdentifier") for f in failures}
        if None in failed or "" in failed:
            return len(messages)  # Lambda treats an invalid identifier as a failed batch
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._client.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.batches += 1
        return len(messages)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.run_once()
            except Exception:  # SQS unreachable: back off and try again
                logger.exception("poller error", extra={"handler": self._mapping.name})
                self._halt.wait(1.0)
