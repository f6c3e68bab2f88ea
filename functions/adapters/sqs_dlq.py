"""Dead-letter queues: look inside, and move messages back once the cause is fixed.

Redrive moving the whole DLQ asks SQS itself (``StartMessageMoveTask``: AWS, LocalStack);
where the endpoint has no such call (MiniStack), or only part of the DLQ is to move, it is
receive → send to the source queue → delete. A message is deleted from the DLQ only after
its copy is in the source queue: a crash mid-way duplicates, never loses, and the workers'
idempotent writes absorb the duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import botocore.exceptions

from functions.adapters.sqs import SqsQueue
from functions.errors import DependencyDown, Forbidden
from functions.observability import logger


def show(client: Any, dlq_url: str, peek: int = 5) -> dict[str, Any]:
    attrs = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    messages = []
    if peek:
        response = client.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, peek),
            VisibilityTimeout=0,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = [
            {
                "id": m["MessageId"],
                "receives": m.get("Attributes", {}).get("ApproximateReceiveCount"),
                "body": m["Body"][:500],
            }
            for m in response.get("Messages", [])
        ]
    return {"queue": dlq_url, "depth": int(attrs["Attributes"]["ApproximateNumberOfMessages"]), "peek": messages}


def start_move_task(client: Any, dlq_url: str, target_url: str) -> bool:
    """Ask SQS to move every message of the DLQ back (asynchronously, at SQS's pace); False
    where the endpoint has no ``StartMessageMoveTask`` (the caller then moves them itself)."""
    arns = [
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for url in (dlq_url, target_url)
    ]
    try:
        client.start_message_move_task(SourceArn=arns[0], DestinationArn=arns[1])
    except botocore.exceptions.ClientError as exc:
        if "AccessDenied" in exc.response.get("Error", {}).get("Code", ""):
            raise
        logger.info("no StartMessageMoveTask here; moving the messages one by one", extra={"error": str(exc)})
        return False
    return True


def redrive(client: Any, dlq_url: str, target_url: str, limit: int = 10_000) -> int:
    """Move up to ``limit`` messages back; the whole DLQ by SQS's own move task where it can."""
    depth = int(
        client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    if 0 < depth <= limit and start_move_task(client, dlq_url, target_url):
        return depth
    moved = 0
    while moved < limit:
        response = client.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, limit - moved),
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        for message in messages:
            client.send_message(
                QueueUrl=target_url,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes", {}),
            )
            client.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


@contextmanager
def _sqs_down() -> Iterator[None]:
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        if "AccessDenied" in exc.response.get("Error", {}).get("Code", ""):
            # on AWS the functions' role may not consume DLQs, by design
            raise Forbidden("this function may not consume the DLQ; run `surge dlq redrive` as an operator") from exc
        raise DependencyDown("sqs", exc) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise DependencyDown("sqs", exc) from exc


class SqsDeadLetters:
    """The operator's view of the queues by name: dead letters shown and redriven, queues purged."""

    def __init__(self, queues: SqsQueue):
        self._queues = queues

    def check(self, names: Sequence[str]) -> None:
        """Raise ``DependencyDown("sqs")`` unless every queue in ``names`` can be reached."""
        for name in names:
            self._queues.url(name)

    def show(self, dlq: str, peek: int) -> dict[str, Any]:
        with _sqs_down():
            return show(self._queues.client, self._queues.url(dlq), peek=peek)

    def redrive(self, dlq: str, target: str, limit: int) -> int:
        """Move up to ``limit`` messages from ``dlq`` back to ``target``; a failure stops the move."""
        with _sqs_down():
            return redrive(self._queues.client, self._queues.url(dlq), self._queues.url(target), limit=limit)

    def purge(self, name: str) -> str | None:
        """Empty ``name``; the error code when SQS refuses (AWS allows one purge a minute)."""
        try:
            self._queues.client.purge_queue(QueueUrl=self._queues.url(name))
        except botocore.exceptions.ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code", str(exc)))
        except botocore.exceptions.BotoCoreError as exc:
            raise DependencyDown("sqs", exc) from exc
        return None
