"""``./surge chaos`` on a ``./surge up --chaos``: the fault shows in /health (so on the
dashboard) while it lasts, and the guarantees hold through it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import wait_until
from tests.upstack import UpStack, cli_env, run_cli
from tests.upstack import pay as post

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def up(tmp_path: Path, prepared: Any) -> Iterator[UpStack]:
    with UpStack.create(tmp_path) as stack:
        yield stack


def chaos(up: UpStack, *args: str) -> Any:
    result = run_cli(["chaos", *args], cli_env(dict(os.environ), SURGE_VAR=str(up.var)))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pay(up: UpStack) -> tuple[int, Any]:
    return post(up.base, timeout=10)


def test_chaos_needs_a_stack_started_with_it(up: UpStack) -> None:
    up.start()
    result = run_cli(["chaos", "redis", "down", "5s"], cli_env(dict(os.environ), SURGE_VAR=str(up.var)))
    assert result.returncode == 2 and "--chaos" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_chaos_moves_the_health_and_no_accepted_payment_is_lost(up: UpStack) -> None:
    up.start(extra_args=["--chaos"])
    assert up.health()["status"] == "ok"

    chaos(up, "mysql", "down", "4s")
    health = wait_until(lambda: (h := up.health()) and h["dependencies"]["mysql"]["status"] == "down" and h, 5, 0.1)
    assert health["runtime"]["faults"]["mysql"]["mode"] == "down"
    answers = [pay(up) for _ in range(10)]  # taking payments does not need MySQL
    assert {status for status, _ in answers} == {202}
    wait_until(lambda: up.health()["status"] == "ok", 10, 0.2, "MySQL to be back")
    assert up.health()["runtime"]["faults"] == {}
    stored = wait_until(lambda: (ids := up.payment_ids()) and len(ids) >= 10 and ids, 60, 0.25)
    assert sorted(stored) == sorted(body["id"] for _, body in answers)  # each exactly once

    chaos(up, "sqs", "latency", "300ms", "4s")
    health = wait_until(lambda: (h := up.health()) and "sqs" in h["runtime"]["faults"] and h, 5, 0.1)
    assert health["runtime"]["faults"]["sqs"]["latency_ms"] == 300
    status, body = pay(up)
    assert status == 202, body

    chaos(up, "redis", "down", "30s")
    wait_until(lambda: up.health()["dependencies"]["redis"]["status"] == "down", 5, 0.1, "Redis to look down")
    during = [pay(up) for _ in range(3)]
    assert {status for status, _ in during} <= {202, 503}
    chaos(up, "off")
    wait_until(lambda: up.health()["status"] == "ok", 10, 0.2, "every dependency to be back")
    assert "chaos: redis down" in up.output() and "chaos: redis restored" in up.output()
    accepted = {b["id"] for _, b in answers} | {body["id"]} | {b["id"] for s, b in during if s == 202}
    wait_until(lambda: len(up.payment_ids()) >= len(accepted), 60, 0.25, "every accepted payment stored")
    time.sleep(0.5)  # a duplicate would land now
    assert sorted(up.payment_ids()) == sorted(accepted)
