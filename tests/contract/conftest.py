"""SQS endpoints for the contract tests: each test runs once per emulator.

- ``embedded``: the SQS endpoint of this test session (MiniStack started by
  tests/conftest.py, or whatever SQS_ENDPOINT_URL points at).
- ``ministack-own-app``: MiniStack served by its own ASGI app alone, without the front that
  answers SQS JSON calls directly (``functions/runtime/ministack_sqs.py``): both must agree.
- ``localstack``: LocalStack-core 2026.3.0 as a plain process from ``.venv-localstack``
  (built by infra/localstack/setup.sh on first use). Skipped, never failed, when the
  machine has no Python >= 3.13, or when SURGE_CONTRACT_LOCALSTACK=0.

Every test gets its own main queue + DLQ (redrive after 2 receives, 1 s visibility),
deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.adapters.sqs import SqsQueue, ensure_queues, sqs_client
from functions.runtime.emulator import REPO, free_port
from tests.conftest import RUN_ID

VISIBILITY_TIMEOUT = 1
MAX_RECEIVE_COUNT = 2


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """LocalStack on a free port for the whole session; stopped by PID at the end."""
    from functions.runtime.localstack import LocalStackUnavailable, ensure_venv, start_localstack, stop_localstack

    if os.environ.get("SURGE_CONTRACT_LOCALSTACK", "1") == "0":
        pytest.skip("LocalStack half skipped: SURGE_CONTRACT_LOCALSTACK=0")
    try:
        python = ensure_venv()
    except LocalStackUnavailable as exc:
        pytest.skip(f"LocalStack half skipped: {exc}")
    port = free_port()
    process = start_localstack(python, port, REPO / "var" / "log" / f"localstack-test-{RUN_ID}.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_localstack(process)


@pytest.fixture(scope="session")
def ministack_own_app_endpoint() -> Iterator[str]:
    """MiniStack's own app on a free port for the whole session; stopped by PID at the end."""
    from functions.runtime.emulator import MINISTACK_APP, start_ministack, stop_process

    port = free_port()
    process = start_ministack(port, REPO / "var" / "log" / f"ministack-own-app-{RUN_ID}.log", app=MINISTACK_APP)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, timeout=10)


@pytest.fixture(scope="session", params=["embedded", "ministack-own-app", "localstack"])
def sqs_endpoint(request: pytest.FixtureRequest) -> str:
    if request.param == "embedded":
        return os.environ.get("SQS_ENDPOINT_URL") or os.environ["AWS_ENDPOINT_URL_SQS"]
    return str(request.getfixturevalue(f"{request.param.replace('-', '_')}_endpoint"))


@dataclass(frozen=True)
class ContractQueues:
    """A fresh queue pair on one endpoint, reached through our own adapter."""

    client: Any
    sqs: SqsQueue
    name: str
    url: str
    dlq_name: str
    dlq_url: str

    def receive(self, wait: int = 0, url: str | None = None, **extra: Any) -> list[dict[str, Any]]:
        """Up to 10 messages with all system and message attributes."""
        response = self.client.receive_message(
            QueueUrl=url or self.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            **extra,
        )
        return list(response.get("Messages", []))


@pytest.fixture(params=["boto3", "wire"])
def queues(sqs_endpoint: str, request: pytest.FixtureRequest) -> Iterator[ContractQueues]:
    """Through boto3, and through the wire client the gateway and the workers use."""
    client = sqs_client(sqs_endpoint, "us-east-1", wire=request.param == "wire")
    name = f"surge-c{RUN_ID}-{uuid.uuid4().hex[:8]}"
    url = ensure_queues(client, name, f"{name}-dlq", MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT)
    dlq_url = client.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    yield ContractQueues(client, SqsQueue(client), name, url, f"{name}-dlq", dlq_url)
    for queue_url in (url, dlq_url):
        client.delete_queue(QueueUrl=queue_url)
