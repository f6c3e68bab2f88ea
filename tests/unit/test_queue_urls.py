"""Queue urls given in advance (QUEUE_URLS, passed by the AWS stack) skip the lookup."""

from __future__ import annotations

from typing import Any

import pytest

from functions.adapters.sqs import SqsQueue
from functions.config import Settings


class RecordingSqs:
    def __init__(self) -> None:
        self.lookups: list[str] = []
        self.sent_to: list[str] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        self.lookups.append(QueueName)
        return {"QueueUrl": f"https://sqs.example/123/{QueueName}"}

    def send_message(self, QueueUrl: str, **_: Any) -> dict[str, str]:
        self.sent_to.append(QueueUrl)
        return {"MessageId": "m-1"}


def test_settings_parse_queue_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_URLS", "surge-payments=https://q/1/surge-payments, surge-orders=https://q/1/surge-orders")
    assert Settings.from_env().queue_urls == {
        "surge-payments": "https://q/1/surge-payments",
        "surge-orders": "https://q/1/surge-orders",
    }


def test_a_known_url_is_used_without_a_lookup() -> None:
    client = RecordingSqs()
    queue = SqsQueue(client, {"surge-payments": "https://q/1/surge-payments"})
    queue.send("surge-payments", "{}")
    queue.send("surge-orders", "{}")
    assert client.sent_to == ["https://q/1/surge-payments", "https://sqs.example/123/surge-orders"]
    assert client.lookups == ["surge-orders"]
