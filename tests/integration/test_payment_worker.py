"""The payments worker against real MySQL and SQS, driven by the local event source mapping."""

from __future__ import annotations

import json
import threading
from typing import Any

from functions.ids import new_id
from functions.payments.model import Payment
from functions.runtime.pollers import SqsPoller, mappings_of
from functions.workers.batch import batch_response


def count_rows(surge_app: Any) -> int:
    with surge_app.db.transaction() as cur:
        cur.execute("SELECT COUNT(*) FROM payments")
        return int(cur.fetchone()[0])


def payment(cents: int = 500) -> Payment:
    return Payment(new_id(), cents, "EUR", 1_800_000_000_000)


def test_poison_message_fails_alone_and_the_rest_is_stored(surge_app: Any) -> None:
    good = [payment(100), payment(200)]
    messages = [
        ("m1", good[0].to_message()),
        ("m2", "{not json"),
        ("m3", json.dumps({"type": "payment.accepted", "id": "x"})),
        ("m4", good[1].to_message()),
    ]
    result = batch_response(surge_app.payments.store_batch(messages))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert count_rows(surge_app) == 2


def test_redelivered_message_never_makes_a_second_row(surge_app: Any) -> None:
    p = payment()
    assert batch_response(surge_app.payments.store_batch([("a", p.to_message())])) == {"batchItemFailures": []}
    # the same message again, and twice within one batch
    assert batch_response(surge_app.payments.store_batch([("b", p.to_message()), ("c", p.to_message())])) == {
        "batchItemFailures": []
    }
    assert count_rows(surge_app) == 1
    row = surge_app.ledger.get(p.id).body()
    assert row["amount"] == "5.00" and row["status"] == "stored"


def _poller(surge_app: Any) -> SqsPoller:
    from app import app

    mapping = next(m for m in mappings_of(app) if m.queue == surge_app.settings.queue_name("payments"))
    return SqsPoller(surge_app.sqs.client, mapping, threading.Event(), surge_app.settings.aws_region, wait_seconds=1)


def test_event_source_mapping_deletes_successes_and_redrives_the_poison_to_the_dlq(surge_app: Any) -> None:
    settings = surge_app.settings
    queue = settings.queue_name("payments")
    good = [payment(c) for c in (101, 202, 303)]
    for p in good:
        surge_app.sqs.send(queue, p.to_message())
    surge_app.sqs.send(queue, "poison")
    poller = _poller(surge_app)
    dlq = f"{queue}-dlq"
    deadline_batches = 0
    # failures come back after the visibility timeout (3 s in tests) until maxReceiveCount (3)
    while surge_app.sqs.depth(dlq)["visible"] == 0 and deadline_batches < 40:
        poller.run_once()
        deadline_batches += 1
    assert count_rows(surge_app) == 3
    assert surge_app.sqs.depth(dlq)["visible"] == 1
    depth = surge_app.sqs.depth(queue)
    assert depth == {"visible": 0, "in_flight": 0}


def test_dlq_redrive_replays_a_message_once_fixed(surge_app: Any) -> None:
    settings = surge_app.settings
    queue = settings.queue_name("payments")
    p = payment(4242)
    surge_app.sqs.send(f"{queue}-dlq", p.to_message())
    assert surge_app.operator.show_dlq("payments", peek=1)["depth"] == 1
    assert surge_app.operator.redrive("payments") == 1
    assert surge_app.sqs.depth(f"{queue}-dlq")["visible"] == 0
    poller = _poller(surge_app)
    for _ in range(5):
        if poller.run_once():
            break
    assert surge_app.ledger.get(p.id).body()["amount"] == "42.42"


def test_connections_read_committed_so_workers_take_no_gap_locks(surge_app: Any) -> None:
    with surge_app.db.transaction() as cur:
        cur.execute("SELECT @@tx_isolation")  # MariaDB's name (MySQL 8: @@transaction_isolation)
        assert cur.fetchone()[0] == "READ-COMMITTED"
