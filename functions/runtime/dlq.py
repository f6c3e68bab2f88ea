"""Dead-letter queues: look inside, and move messages back once the cause is fixed.

Redrive is receive → send to the source queue → delete, so it works on every SQS
emulator (MiniStack has no StartMessageMoveTask). A message is deleted from the DLQ
only after its copy is in the source queue: a crash mid-way duplicates, never loses,
and the workers' idempotent writes absorb the duplicate.
"""

from __future__ import annotations

from typing import Any


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


def redrive(client: Any, dlq_url: str, target_url: str, limit: int = 10_000) -> int:
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
