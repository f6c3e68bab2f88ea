"""``./surge up`` behaves like Lambda when its processes die: they come back, the API keeps
answering, nothing accepted is lost; a graceful stop and a start keep the backlog; the
pollers wait out an SQS outage quietly."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.mysql import MySqlTarget
from functions.adapters.sqs import sqs_client
from functions.runtime.emulator import REPO
from functions.runtime.faultproxy import FaultProxy, with_port
from tests.support import wait_until
from tests.upstack import UpStack, pay

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def up(tmp_path: Path, prepared: Any) -> Iterator[UpStack]:
    with UpStack.create(tmp_path) as stack:
        yield stack


def test_a_killed_worker_is_restarted_within_2s_while_every_request_gets_its_202(up: UpStack) -> None:
    up.start()
    deadline = time.monotonic() + 8

    def client(_: int) -> list[tuple[int, Any]]:
        answers = []
        while time.monotonic() < deadline and len(answers) < 400:
            answers.append(pay(up.base))
        return answers

    with ThreadPoolExecutor(4) as pool:
        load = pool.map(client, range(4))
        time.sleep(2)
        victim = up.pid("workers")
        assert victim
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: up.pid("workers") not in (None, victim), 2.0, 0.05, "the worker process to be restarted")
        restarted_after = time.monotonic() - killed_at
        answers = [a for batch in load for a in batch]

    statuses = Counter(status for status, _ in answers)
    assert set(statuses) == {202}, statuses
    accepted = {body["id"] for _, body in answers}
    assert len(accepted) == len(answers) > 50
    stored = wait_until(lambda: (ids := up.payment_ids()) and len(ids) >= len(accepted) and ids, 60, 0.25)
    assert len(stored) == len(set(stored)) and set(stored) == accepted  # each exactly once
    assert restarted_after < 2.0
    runtime = up.health()["runtime"]["processes"]["workers"]
    assert runtime["restarts"] == 1 and runtime["last_exit"] == -9
    assert "workers exited with -9" in up.output()


def test_a_killed_gateway_comes_back_and_a_retrying_client_loses_nothing(up: UpStack) -> None:
    up.start()
    keys = [f"k-{uuid.uuid4().hex}" for _ in range(80)]
    answered: dict[str, str] = {}
    failed_tries = 0

    def killer() -> None:
        wait_until(lambda: len(answered) >= 20, 30, 0.01, "some payments first")
        os.kill(up.pid("gateway") or 0, signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    for key in keys:  # the client retries each payment with its key until it is accepted
        give_up = time.monotonic() + 45
        while True:
            status, body = pay(up.base, key, timeout=5)
            if status == 202:
                answered[key] = body["id"]
                break
            # 409 "in progress": the killed process held the key; it is released after 30 s
            assert status in (0, 409, 502, 503) and time.monotonic() < give_up, (status, body)
            failed_tries += 1
            time.sleep(0.5 if status == 409 else 0.1)
    thread.join()

    assert failed_tries > 0  # the gateway really was gone for a while
    stored = wait_until(lambda: (ids := up.payment_ids()) and len(ids) >= len(keys) and ids, 60, 0.25)
    assert sorted(stored) == sorted(answered.values())
    assert up.health()["runtime"]["processes"]["gateway"]["restarts"] == 1


def test_a_202_survives_a_stop_and_a_start(up: UpStack) -> None:
    up.start(POLLERS_PER_QUEUE="0")  # nothing consumes: the payments wait in the queue
    accepted = []
    for _ in range(10):
        status, body = pay(up.base)
        assert status == 202, body
        accepted.append(body["id"])
    client = sqs_client(up.sqs_endpoint(), up.settings.aws_region)
    for n in range(2):
        client.send_message(QueueUrl=up.queue_url("payments-dlq"), MessageBody=f'{{"dead": {n}}}')
    assert up.depth("payments") == 10
    assert up.stop() == 0

    up.start()  # workers on again
    assert "restored backlog: payments 10, payments-dlq 2" in up.log.read_text()
    stored = wait_until(lambda: (ids := up.payment_ids()) and len(ids) >= 10 and ids, 60, 0.25)
    time.sleep(1)  # a duplicate would land now
    assert sorted(up.payment_ids()) == sorted(stored) == sorted(accepted)
    assert up.depth("payments-dlq") == 2


def test_the_pollers_log_at_most_3_lines_during_a_10s_sqs_outage(tmp_path: Path, prepared: Any) -> None:
    proxy = FaultProxy(("127.0.0.1", int(prepared.sqs_endpoint_url.rsplit(":", 1)[1])))
    with proxy, UpStack.create(tmp_path, sqs_endpoint=f"http://{proxy.url_host}") as up:
        up.start()
        time.sleep(1)
        before = len(up.lines("workers"))
        proxy.cut()
        time.sleep(10)
        proxy.restore()
        status, body = pay(up.base)
        assert status == 202, body
        wait_until(lambda: up.payment_ids(), 20, 0.2, "the payment after the outage to be stored")

        def lines() -> list[str]:
            return [line for line in up.lines("workers")[before:] if '"message":"payment' not in line]

        # the line comes once the poller is done with its batch, a moment after the row
        wait_until(lambda: any("SQS reachable again" in line for line in lines()), 20, 0.2, "the all-clear")
        assert len(lines()) <= 3, "\n".join(lines())
        assert any("SQS unreachable" in line for line in lines()), lines()


def test_a_batch_past_its_function_timeout_comes_back_and_is_stored_once(tmp_path: Path, prepared: Any) -> None:
    """store_payments gets a 2 s timeout in a config.json of the test's own; MySQL is slow."""
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    config["stages"]["local"].setdefault("lambda_functions", {})["store_payments"] = {"lambda_timeout": 2}
    (tmp_path / "config.json").write_text(json.dumps(config))
    mysql = FaultProxy(("127.0.0.1", MySqlTarget.from_url(prepared.mysql_url).port))
    with mysql, UpStack.create(tmp_path, sqs_endpoint=prepared.sqs_endpoint_url) as up:
        up.env.update(SURGE_CHALICE_CONFIG=str(tmp_path / "config.json"), POLLERS_PER_QUEUE="1")
        up.env["MYSQL_URL"] = with_port(up.settings.mysql_url, mysql.port)
        up.start()
        mysql.latency = 1.0  # each round trip to MySQL: the batch cannot finish in 2 s
        accepted = [pay(up.base)[1]["id"] for _ in range(5)]
        wait_until(lambda: "Task timed out after 2.00 seconds" in up.output(), 30, 0.2, "the batch to time out")
        mysql.latency = 0
        stored = wait_until(lambda: (ids := up.payment_ids()) and len(ids) >= 5 and ids, 60, 0.25)
        wait_until(lambda: up.depth("payments") == 0, 30, 0.25, "the queue to drain")
        assert sorted(up.payment_ids()) == sorted(stored) == sorted(accepted)  # each exactly once
        assert up.depth("payments-dlq") == 0
