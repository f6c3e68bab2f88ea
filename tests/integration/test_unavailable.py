"""A dependency that cannot be reached: 503 with Retry-After, nothing counted or enqueued.

The dead endpoint is a real closed port on 127.0.0.1, not a mock.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from app import app
from functions.bootstrap import build, use
from functions.runtime.emulator import free_port
from tests.support import queue_depth


@pytest.fixture
def wired(clean: Any) -> Iterator[Any]:
    def install(**changes: Any) -> Client:
        use(build(dataclasses.replace(clean, **changes)))
        return Client(app)

    yield install
    use(None)


def test_sqs_down_means_503_and_nothing_counted(wired: Any, clean: Any) -> None:
    client = wired(sqs_endpoint_url=f"http://127.0.0.1:{free_port()}")
    response = client.http.post("/payment", headers={"Content-Type": "application/json"}, body='{"amount": 5}')
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert json.loads(response.body)["code"] == "service_unavailable"
    now = int(time.time())
    from functions.bootstrap import wire

    assert wire(clean)[1].statistics.read(now - 1199, now, False, 0, 0).payments == {}
    assert queue_depth(clean, "payments") == 0


def test_idempotent_payment_with_redis_down_is_503_and_not_enqueued(wired: Any, clean: Any) -> None:
    client = wired(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = client.http.post(
        "/payment", headers={"Content-Type": "application/json", "Idempotency-Key": "k"}, body='{"amount": 5}'
    )
    assert response.status_code == 503
    assert queue_depth(clean, "payments") == 0


def test_plain_payment_with_redis_down_is_still_accepted_durably(wired: Any, clean: Any) -> None:
    client = wired(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = client.http.post("/payment", headers={"Content-Type": "application/json"}, body='{"amount": 5}')
    assert response.status_code == 202  # in SQS already; statistics are rebuilt by reconcile
    assert queue_depth(clean, "payments") == 1


@pytest.mark.parametrize("broken", ["redis", "sqs", "mysql"])
def test_health_is_503_naming_the_dependency_that_is_down(wired: Any, broken: str) -> None:
    port = free_port()
    change = {
        "redis": {"redis_url": f"redis://127.0.0.1:{port}/0"},
        "sqs": {"sqs_endpoint_url": f"http://127.0.0.1:{port}"},
        "mysql": {"mysql_url": f"mysql://root@127.0.0.1:{port}/surge"},
    }[broken]
    response = wired(**change).http.get("/health")
    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["status"] == "degraded"
    assert {name for name, dep in body["dependencies"].items() if dep["status"] == "down"} == {broken}
