"""The dev loop of ``chalice local`` and SAM CLI on ``./surge up``: events, one-off invokes."""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.runtime.emulator import REPO
from tests.support import http, wait_until
from tests.upstack import CLI, UpStack, cli_env, copy_project, pay, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def up(tmp_path: Path, prepared: Any) -> Iterator[UpStack]:
    with UpStack.create(tmp_path, POLLERS_PER_QUEUE="0") as stack:  # only invoke stores here
        stack.start()
        yield stack


def test_invoke_runs_the_payments_worker_once_with_a_generated_sqs_event(up: UpStack) -> None:
    env = cli_env(dict(os.environ), SURGE_VAR=str(up.var))
    generated = run_cli(["event", "sqs", "--payment", "12.34", "--payment", "0.66"], env)
    assert generated.returncode == 0, generated.stderr
    event = json.loads(generated.stdout)
    ids = [json.loads(record["body"])["id"] for record in event["Records"]]
    assert len(ids) == 2 and event["Records"][0]["eventSource"] == "aws:sqs"

    invoked = subprocess.run(
        [*CLI, "invoke", "store_payments", "--event", "-"],
        input=generated.stdout, env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"batchItemFailures": []}  # the batch response, alone on stdout
    assert sorted(up.payment_ids()) == sorted(ids)  # stored in the running stack's MySQL

    request = run_cli(["event", "api", "--method", "GET", "--path", "/health"], env)
    path = up.var.parent / "api.json"
    path.write_text(request.stdout)
    answered = run_cli(["invoke", "api_handler", "--event", str(path)], env)
    assert answered.returncode == 0, answered.stderr
    response = json.loads(answered.stdout)
    assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "ok"


def test_invoke_of_an_unknown_function_names_the_real_ones(up: UpStack) -> None:
    result = run_cli(["invoke", "store_payment"], cli_env(dict(os.environ), SURGE_VAR=str(up.var)))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "surge invoke: no function 'store_payment'; there are: api_handler, store_payments, reconcile_every_minute,"
        " settle_orders"
    ]


def test_editing_a_route_changes_its_answer_within_3s_and_no_request_fails(tmp_path: Path, prepared: Any) -> None:
    project = copy_project(tmp_path / "project")
    with UpStack.create(tmp_path) as up:
        up.project = project
        up.start()
        answers: list[tuple[float, int, Any]] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                try:
                    status, _, body = http("GET", f"{up.base}/health", timeout=10)
                except OSError as exc:
                    status, body = 0, repr(exc)
                answers.append((time.monotonic(), status, body))
                time.sleep(0.02)

        thread = threading.Thread(target=client)
        thread.start()
        try:
            time.sleep(1)
            code = project / "functions" / "healthcheck.py"  # what GET /health answers
            before = code.read_text()
            assert '"status": "ok" if healthy' in before
            code.write_text(before.replace('"status": "ok" if healthy', '"status": "fine" if healthy'))
            edited = time.monotonic()
            wait_until(
                lambda: answers and isinstance(answers[-1][2], dict) and answers[-1][2].get("status") == "fine",
                10,
                0.05,
                "the new code",
            )
            changed_after = time.monotonic() - edited
            time.sleep(max(2.0, edited + 4.5 - time.monotonic()))  # requests go on while the old processes finish
        finally:
            stop.set()
            thread.join()
        failed = [(status, body) for _, status, body in answers if status != 200]
        assert failed == []
        assert changed_after < 3.0
        after = [body["status"] for at, _, body in answers if at > edited + 3.0]
        assert after and set(after) == {"fine"}  # no old process answers any more
        status, body = pay(up.base)
        assert status == 202, body
        wait_until(lambda: up.payment_ids() == [body["id"]], 30, 0.2, "the reloaded workers to store it")
        assert "reload: functions/healthcheck.py changed" in up.output()
        assert up.health()["runtime"]["processes"]["workers"]["reloads"] == 1


def test_logs_shows_each_functions_lines_readable_and_follows(tmp_path: Path, prepared: Any) -> None:
    with UpStack.create(tmp_path) as up:
        up.start(LOG_LEVEL="DEBUG")  # DEBUG: a line per payment, in the gateway and in the worker
        env = cli_env(dict(os.environ), SURGE_VAR=str(up.var))
        follower = subprocess.Popen(
            [*CLI, "logs", "store_payments", "-f", "-n", "0"], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        try:
            status, body = pay(up.base)
            assert status == 202, body
            assert follower.stdout is not None
            ready, _, _ = select.select([follower.stdout], [], [], 30)
            line = follower.stdout.readline() if ready else ""
        finally:
            follower.terminate()
            follower.wait(timeout=10)
        assert "store_payments" in line and f"payment_id={body['id']}" in line and not line.startswith("{")

        wait_until(lambda: up.payment_ids(), 30, 0.2, "the payment to be stored")
        worker = run_cli(["logs", "store_payments"], env).stdout.splitlines()
        assert worker and all(" store_payments " in line for line in worker)
        everything = run_cli(["logs"], env).stdout
        assert "api_handler" in everything and "payment accepted" in everything
        assert '"level"' not in everything  # readable, while the files keep their JSON
        assert all(line.startswith("{") for line in up.lines("workers") if "store_payments" in line)
