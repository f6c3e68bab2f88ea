"""The operator CLI is safe by default: it acts on the running ``./surge up`` or on an
endpoint it was given, refuses (one line, nothing changed) when it has neither, checks
the admin key against the stack's own, and keeps stdout for reports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.mysql import MySqlTarget
from functions.adapters.redis_client import connect
from functions.adapters.schema import apply_schema, drop_database
from functions.adapters.sqs import ensure_queues, sqs_client
from functions.config import Settings
from functions.runtime.emulator import REPO, free_port, port_open
from functions.runtime.state import StackState
from tests.support import mysql_count
from tests.upstack import UpStack, cli_env, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def up(tmp_path: Path, prepared: Any) -> Iterator[UpStack]:
    with UpStack.create(tmp_path) as stack:
        stack.start()
        yield stack


@pytest.fixture
def bystander(prepared: Settings, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Redis keys, a MySQL table and queued messages a stray command must not touch."""
    name = f"b{uuid.uuid4().hex[:6]}"
    redis_prefix, queue_prefix = f"{prepared.redis_prefix}{name}:", f"{prepared.queue_prefix}{name}-"
    mysql_url = f"{prepared.mysql_url}_{name}"
    mysql = MySqlTarget.from_url(mysql_url)
    apply_schema(mysql)
    conn = mysql.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE sentinel (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO sentinel VALUES (1)")
    conn.commit()
    conn.close()
    redis = connect(prepared.redis_url)
    redis.set(f"{redis_prefix}sentinel", "1")
    client = sqs_client(prepared.sqs_endpoint_url, prepared.aws_region)
    url = ensure_queues(client, f"{queue_prefix}payments", f"{queue_prefix}payments-dlq", 3, 30)
    client.send_message(QueueUrl=url, MessageBody="{}")
    env = cli_env(
        dict(os.environ),
        SURGE_VAR=str(tmp_path / "var"),
        REDIS_PREFIX=redis_prefix,
        QUEUE_PREFIX=queue_prefix,
        MYSQL_URL=mysql_url,
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
    )

    def untouched() -> bool:
        conn = mysql.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM sentinel")
                rows = cur.fetchone()[0]
        finally:
            conn.close()
        depth = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return (
            rows == 1
            and redis.get(f"{redis_prefix}sentinel") == "1"
            and depth["Attributes"]["ApproximateNumberOfMessages"] == "1"
        )

    yield {"env": env, "untouched": untouched}
    drop_database(mysql)
    redis.delete(f"{redis_prefix}sentinel")
    for queue in (f"{queue_prefix}payments", f"{queue_prefix}payments-dlq"):
        client.delete_queue(QueueUrl=client.get_queue_url(QueueName=queue)["QueueUrl"])


COMMANDS = [
    ["reset"],
    ["dlq", "show"],
    ["dlq", "redrive"],
    ["prepare"],
    ["reconcile"],
    ["catalogue", "load", "--products", "2"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_without_a_stack_or_endpoint_every_command_refuses_in_one_line_and_changes_nothing(
    command: list[str], bystander: dict[str, Any], tmp_path: Path
) -> None:
    env = {**bystander["env"], "ADMIN_KEY": "whatever"}
    # a stack file left by a stack that is gone does not count
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = StackState(
        dead.pid, "http://127.0.0.1:1", "http://127.0.0.1:2", "x-", "redis://", "x:", "mysql://", "", "", 0
    )
    gone.save(tmp_path / "var" / "stack.json")
    result = run_cli(command, env)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "no local stack is running" in result.stderr and "--aws" in result.stderr
    assert bystander["untouched"]()


def test_with_a_stack_running_commands_act_on_it_and_check_its_admin_key(up: UpStack) -> None:
    env = cli_env(dict(os.environ), SURGE_VAR=str(up.var), ADMIN_KEY="not-the-stack-key")
    # another key than the stack's: refused, one line, nothing loaded
    refused = run_cli(["catalogue", "load", "--products", "2"], env)
    assert refused.returncode != 0 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1 and "admin key" in refused.stderr
    assert mysql_count(up.settings, "products") == 0

    env["ADMIN_KEY"] = up.settings.admin_key
    loaded = run_cli(["catalogue", "load", "--products", "2"], env)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["products"] == 3
    assert mysql_count(up.settings, "products") == 3  # in the stack's own database

    # reports alone on stdout (`./surge reconcile | jq .`)
    reconciled = run_cli(["reconcile"], env)
    assert reconciled.returncode == 0, reconciled.stderr
    assert "payments" in json.loads(reconciled.stdout)
    shown = run_cli(["dlq", "show"], env)
    assert json.loads(shown.stdout)["queue"].startswith(f"http://127.0.0.1:{up.sqs_port}/")


def test_an_unreachable_dependency_is_one_line_not_a_traceback(up: UpStack) -> None:
    env = cli_env(
        dict(os.environ), SQS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", QUEUE_PREFIX=up.settings.queue_prefix
    )
    result = run_cli(["dlq", "show"], env)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path, prepared: Any) -> None:
    stack = UpStack.create(tmp_path)
    with socket.create_server(("127.0.0.1", stack.port)):
        started = time.monotonic()
        result = subprocess.run(
            [*["./surge"], "up", "--port", str(stack.port), "--sqs-port", str(stack.sqs_port)],
            env=stack.env, cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"port {stack.port} is taken" in result.stderr
    assert "Traceback" not in result.stderr and "Gateway" not in result.stdout
    assert time.monotonic() - started < 20
    assert not port_open(stack.sqs_port)  # no emulator was started
    assert not (stack.var / "stack.json").exists()


def test_help_lists_every_command_and_an_unknown_one_is_refused_before_any_install(tmp_path: Path) -> None:
    result = subprocess.run(["./surge", "help"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    expected = {"setup", "up", "test", "load", "bench", "lint", "help", "prepare", "dlq", "reconcile", "reset"}
    assert expected | {"catalogue"} <= set(names)
    assert len(names) == len(set(names))  # one line each
    assert "set -euo" not in result.stdout

    # a checkout without venvs, and a python that records each call: a typo must not set anything up
    (tmp_path / "surge").write_text((REPO / "surge").read_text())
    (tmp_path / "surge").chmod(0o755)
    (tmp_path / "functions").symlink_to(REPO / "functions")
    calls = tmp_path / "calls"
    python = tmp_path / "python"
    script = f'#!/bin/sh\necho "$*" >> {calls}\ncase "$*" in *functions.cli*) exec python3 "$@";; esac\nexit 1\n'
    python.write_text(script)
    python.chmod(0o755)
    unknown = subprocess.run(
        [str(tmp_path / "surge"), "frobnicate"],
        env={**os.environ, "PYTHON": str(python)}, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == ["surge: unknown command 'frobnicate' (./surge help lists them)"]
    assert calls.read_text().splitlines() == ["-m functions.cli --known frobnicate"]
    assert not (tmp_path / ".venv").exists()
