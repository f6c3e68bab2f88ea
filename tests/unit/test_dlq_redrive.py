"""Redrive asks SQS for its own move task where the endpoint has one, and moves the
messages itself where it has not (or when only part of the DLQ is to move)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from functions.adapters.sqs_dlq import redrive

DLQ, TARGET = "http://sqs/q-dlq", "http://sqs/q"


class Client:
    """An SQS client holding one DLQ; ``move_task`` says whether StartMessageMoveTask exists."""

    def __init__(self, bodies: list[str], move_task: bool):
        self.dlq = list(bodies)
        self.target: list[str] = []
        self.move_task = move_task
        self.calls: list[str] = []

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": f"arn:{QueueUrl}", "ApproximateNumberOfMessages": str(len(self.dlq))}}

    def start_message_move_task(self, SourceArn: str, DestinationArn: str) -> dict[str, Any]:
        self.calls.append(f"move {SourceArn} -> {DestinationArn}")
        if not self.move_task:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "InvalidAction", "Message": "not here"}}, "StartMessageMoveTask"
            )
        self.target += self.dlq
        self.dlq = []
        return {"TaskHandle": "t-1"}

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        batch = self.dlq[:MaxNumberOfMessages]
        return {"Messages": [{"Body": b, "ReceiptHandle": b} for b in batch]}

    def send_message(self, QueueUrl: str, MessageBody: str, **_: Any) -> None:
        self.calls.append("send")
        self.target.append(MessageBody)

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        self.dlq.remove(ReceiptHandle)


def test_the_whole_dlq_moves_by_sqs_own_task_where_the_endpoint_has_one() -> None:
    client = Client(["a", "b", "c"], move_task=True)
    assert redrive(client, DLQ, TARGET) == 3
    assert client.calls == [f"move arn:{DLQ} -> arn:{TARGET}"]  # no message went through us
    assert sorted(client.target) == ["a", "b", "c"] and client.dlq == []


def test_without_the_task_the_messages_are_moved_one_by_one() -> None:
    client = Client(["a", "b", "c"], move_task=False)
    assert redrive(client, DLQ, TARGET) == 3
    assert client.calls[0].startswith("move") and client.calls[1:] == ["send"] * 3
    assert sorted(client.target) == ["a", "b", "c"] and client.dlq == []


def test_part_of_the_dlq_is_moved_by_us_since_the_task_moves_everything() -> None:
    client = Client(["a", "b", "c"], move_task=True)
    assert redrive(client, DLQ, TARGET, limit=2) == 2
    assert client.calls == ["send", "send"] and client.dlq == ["c"]


class Denied(Client):
    """A role without the permission to start a move task."""

    def start_message_move_task(self, SourceArn: str, DestinationArn: str) -> dict[str, Any]:
        raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "x")


def test_an_access_denied_move_is_not_hidden_by_the_fallback() -> None:
    with pytest.raises(botocore.exceptions.ClientError):
        redrive(Denied(["a"], move_task=True), DLQ, TARGET)
