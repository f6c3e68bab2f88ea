"""The SQS behaviours Surge relies on, checked on every emulator we run against.

The code speaks plain SQS, so MiniStack (embedded), LocalStack and AWS must agree on
these; each test runs once per endpoint (see conftest.py). Sends go through our own
adapter (``SqsQueue``), queues are made by ``ensure_queues``, as in production.

Timings are bounded both ways so a wrong behaviour fails, with slack for a busy
2-core machine: the queues use a 1 s visibility timeout.
"""

from __future__ import annotations

import threading
import time

import pytest

from functions.errors import DependencyDown
from tests.contract.conftest import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT, ContractQueues
from tests.support import wait_until

# AWS: valid unicode is #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
INVALID_BODY = "nul \x00 is not allowed"
BATCH_LIMIT_BYTES = 1024 * 1024  # total payload of one SendMessageBatch (and one message) since 2025-08


def collect(queues: ContractQueues, count: int, timeout: float = 5) -> list[dict]:
    """Receive until ``count`` messages are in hand (SQS may return fewer per call)."""
    messages: list[dict] = []

    def enough() -> bool:
        messages.extend(queues.receive(wait=1))
        return len(messages) >= count

    wait_until(enough, timeout=timeout, interval=0, message=f"{count} messages")
    return messages


def consume(queues: ContractQueues, count: int) -> list[dict]:
    """``collect`` then delete them, so that only what was never received can come next."""
    messages = collect(queues, count)
    for message in messages:
        queues.client.delete_message(QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_received_message_stays_hidden_until_the_visibility_timeout_then_reappears(queues: ContractQueues) -> None:
    message_id = queues.sqs.send(queues.name, "payment-1")
    [first] = collect(queues, 1)
    received_at = time.monotonic()
    assert first["MessageId"] == message_id

    assert queues.receive(wait=0) == [], "an in-flight message must not be delivered twice at once"
    [again] = wait_until(lambda: queues.receive(wait=1), timeout=VISIBILITY_TIMEOUT + 5, message="reappearance")
    hidden_for = time.monotonic() - received_at

    assert again["MessageId"] == message_id
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert hidden_for >= VISIBILITY_TIMEOUT * 0.8, f"came back after {hidden_for:.2f}s, before the timeout"


def test_peek_with_zero_visibility_leaves_the_message_visible(queues: ContractQueues) -> None:
    """``surge dlq show`` peeks this way; a peek must never hide or consume the message."""
    queues.sqs.send(queues.name, "peeked")
    [peeked] = wait_until(lambda: queues.receive(wait=1, VisibilityTimeout=0), timeout=5, message="peek")
    [received] = queues.receive(wait=0)
    assert received["MessageId"] == peeked["MessageId"]


def test_message_moves_to_the_dlq_after_max_receive_count_with_its_attributes(queues: ContractQueues) -> None:
    """A poison message is received maxReceiveCount times, then only the DLQ has it."""
    queues.sqs.send(queues.name, "poison", {"idempotency_key": "k-poison"})
    receive_counts: list[str] = []

    def in_dlq() -> list[dict]:
        receive_counts.extend(m["Attributes"]["ApproximateReceiveCount"] for m in queues.receive(wait=1))
        return queues.receive(wait=0, url=queues.dlq_url)

    deadline = (MAX_RECEIVE_COUNT + 2) * (VISIBILITY_TIMEOUT + 1) + 5
    [dead] = wait_until(in_dlq, timeout=deadline, interval=0, message="the message in the DLQ")

    assert receive_counts == [str(n) for n in range(1, MAX_RECEIVE_COUNT + 1)]
    assert dead["Body"] == "poison"
    assert dead["MessageAttributes"]["idempotency_key"]["StringValue"] == "k-poison"  # redrive re-sends them
    assert queues.receive(wait=VISIBILITY_TIMEOUT + 1) == [], "the main queue must not deliver it again"


def test_send_batch_reports_an_invalid_entry_alone_and_sends_the_others(queues: ContractQueues) -> None:
    results = queues.sqs.send_batch(queues.name, [("ok-0", {"n": "0"}), (INVALID_BODY, None), ("ok-2", None)])

    assert isinstance(results[1], DependencyDown)
    assert "InvalidMessageContents" in str(results[1])
    sent = {results[0]: "ok-0", results[2]: "ok-2"}
    assert all(isinstance(message_id, str) for message_id in sent)
    received = consume(queues, 2)
    assert {m["MessageId"]: m["Body"] for m in received} == sent
    assert queues.receive(wait=1) == [], "the invalid entry must not have been enqueued"


def test_send_batch_over_the_total_size_limit_fails_every_entry(queues: ContractQueues) -> None:
    """Each entry is valid alone; together they exceed the batch limit, so no caller may hear yes."""
    body = "x" * (BATCH_LIMIT_BYTES // 3 + 1024)
    results = queues.sqs.send_batch(queues.name, [(body, None)] * 3)

    assert all(isinstance(result, DependencyDown) for result in results), results
    assert queues.receive(wait=1) == []
    assert isinstance(queues.sqs.send_batch(queues.name, [(body, None)])[0], str), "one entry alone fits"


def test_long_poll_on_an_empty_queue_waits_the_full_time(queues: ContractQueues) -> None:
    started = time.monotonic()
    assert queues.receive(wait=2) == []
    waited = time.monotonic() - started
    assert 1.8 <= waited < 4, f"WaitTimeSeconds=2 on an empty queue returned after {waited:.2f}s"


def test_long_poll_returns_as_soon_as_a_message_arrives(queues: ContractQueues) -> None:
    sender = threading.Timer(0.5, queues.sqs.send, args=(queues.name, "late"))
    started = time.monotonic()
    sender.start()
    try:
        # 4 s: below the adapter's 5 s read timeout
        messages = queues.receive(wait=4)
    finally:
        sender.join()
    waited = time.monotonic() - started
    assert [m["Body"] for m in messages] == ["late"]
    assert 0.4 <= waited < 2.5, f"the long poll returned {waited:.2f}s after it began (message sent at 0.5 s)"


def test_deleting_part_of_a_batch_brings_back_only_the_rest(queues: ContractQueues) -> None:
    """The pollers delete only the records that succeeded; the failed ones must come back."""
    bodies = [f"m-{n}" for n in range(4)]
    assert all(isinstance(r, str) for r in queues.sqs.send_batch(queues.name, [(b, None) for b in bodies]))
    batch = collect(queues, 4)
    done, failed = batch[:2], batch[2:]

    response = queues.client.delete_message_batch(
        QueueUrl=queues.url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
    )
    assert sorted(ok["Id"] for ok in response["Successful"]) == ["0", "1"]
    assert not response.get("Failed")

    back = collect(queues, 2, timeout=VISIBILITY_TIMEOUT + 5)
    assert sorted(m["MessageId"] for m in back) == sorted(m["MessageId"] for m in failed)
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"2"}
    for message in back:
        queues.client.delete_message(QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"])
    assert queues.receive(wait=VISIBILITY_TIMEOUT + 1) == [], "deleted messages must never come back"


@pytest.mark.parametrize("via", ["send", "send_batch"])
def test_message_attributes_round_trip(queues: ContractQueues, via: str) -> None:
    attributes = {"idempotency_key": "key-ä-1", "request_id": "req 42", "kind": "payment"}
    if via == "send":
        queues.sqs.send(queues.name, "with-attributes", attributes)
    else:
        [result] = queues.sqs.send_batch(queues.name, [("with-attributes", attributes)])
        assert isinstance(result, str)
    [message] = collect(queues, 1)

    assert message["Body"] == "with-attributes"
    got = message["MessageAttributes"]
    assert {name: value["StringValue"] for name, value in got.items()} == attributes
    assert {value["DataType"] for value in got.values()} == {"String"}
    assert message.get("MD5OfMessageAttributes"), "clients verify attributes with this digest"


def test_redrive_moves_every_dead_letter_back_to_its_queue(queues: ContractQueues) -> None:
    """By SQS's own move task where the endpoint has one (LocalStack, AWS), else one by one."""
    from functions.adapters.sqs_dlq import redrive

    for body in ("dead-1", "dead-2"):
        queues.client.send_message(QueueUrl=queues.dlq_url, MessageBody=body)
    assert redrive(queues.client, queues.dlq_url, queues.url) == 2
    back: list[str] = []

    def both_back() -> bool:
        back.extend(m["Body"] for m in queues.receive(wait=1))
        return len(back) >= 2

    wait_until(both_back, timeout=20, interval=0, message="both messages back in the queue")
    assert sorted(back) == ["dead-1", "dead-2"]
    assert queues.receive(wait=0, url=queues.dlq_url) == []
