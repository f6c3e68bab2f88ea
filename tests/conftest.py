"""Test resources of our own on the shared machine: a MySQL database, a Redis db index and
key prefix, and queue names unique to this run, plus an SQS endpoint (MiniStack started
here unless SQS_ENDPOINT_URL is set). Everything is removed at the end.

The environment is set in ``pytest_configure``, before anything reads ``Settings`` (read
once; the queue names of the ``on_sqs_message`` handlers come from them).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

RUN_ID = uuid.uuid4().hex[:8]
_emulator: subprocess.Popen[bytes] | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _emulator
    os.environ.update({
        "QUEUE_PREFIX": f"surge-t{RUN_ID}-",
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "REDIS_PREFIX": f"surge-t{RUN_ID}:",
        "MYSQL_URL": os.environ.get("TEST_MYSQL_URL_BASE", "mysql://root@127.0.0.1:3306") + f"/surge_t{RUN_ID}",
        "VISIBILITY_TIMEOUT": "3",
        "MAX_RECEIVE_COUNT": "3",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "POWERTOOLS_DEV": "0",
        # the load-test comparison route is part of the local stack the tests exercise
        "PAYMENT_DIRECT_ENABLED": "1",
        # the limiter stays on (its code path runs in every test) but no test client hits it;
        # tests/faults/test_rate_limit.py sets low limits of its own
        "RATE_LIMIT_PER_SECOND": "100000",
        "RATE_LIMIT_BURST": "100000",
        "ADMIN_KEY": f"admin-{RUN_ID}",
    })  # fmt: skip
    if not (os.environ.get("SQS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_SQS")):
        # SURGE_TEST_SQS=localstack runs the session against LocalStack, as `./surge up --sqs localstack`
        from functions.runtime.emulator import free_port
        from functions.runtime.sqs_endpoint import start_sqs

        port = free_port()
        log_dir = Path(config.rootpath) / "var" / "log" / f"sqs-test-{RUN_ID}"
        _emulator, _ = start_sqs(os.environ.get("SURGE_TEST_SQS", "ministack"), port, log_dir)
        os.environ["SQS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """End-to-end tests last: the session's ``stack`` keeps its worker polling this run's
    queues, which would take the messages integration tests expect to find there."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _emulator is not None:
        from functions.runtime.emulator import stop_process

        stop_process(_emulator, timeout=10)


@pytest.fixture(scope="session")
def settings():
    from functions.config import Settings

    return Settings.from_env()


@pytest.fixture(scope="session")
def prepared(settings):
    """Schema and queues exist for this run; dropped afterwards."""
    from functions.adapters.mysql import MySqlTarget
    from functions.adapters.schema import drop_database
    from functions.runtime.stack import prepare
    from functions.workers.queues import app_queues
    from tests.support import delete_queues

    prepare(settings)
    yield settings
    drop_database(MySqlTarget.from_url(settings.mysql_url))
    delete_queues(settings, app_queues(settings))
    _delete_redis_keys(settings)


def _delete_redis_keys(settings) -> None:
    from functions.adapters.redis_client import connect
    from functions.adapters.redis_keyspace import delete_redis_keys

    delete_redis_keys(connect(settings.redis_url), settings.redis_prefix)


@pytest.fixture(scope="session")
def _resetter(prepared):
    from functions.bootstrap import build

    return build(prepared)


@pytest.fixture
def clean(prepared, _resetter):
    """Empty tables, Redis keys and queues of this run before the test (the admin reset)."""
    _resetter.operator.reset()
    return prepared


@pytest.fixture
def surge_app(clean) -> Iterator[object]:
    """The wired graph on this run's resources, its services installed as the current ones."""
    from functions.bootstrap import use, wire
    from tests.support import Graph

    services, adapters = wire(clean)
    use(services)
    yield Graph(services, adapters)
    use(None)


@pytest.fixture
def client(surge_app):
    """Chalice's test client: the real app through LocalGateway, no HTTP server."""
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def stack(prepared) -> Iterator[str]:
    """The gateway (granian) and worker processes on a free port; yields the base URL.

    Module-scoped: its workers consume this run's queues, so they must not outlive the
    e2e module that asked for them (integration tests look at queue depths)."""
    from functions.runtime.emulator import free_port
    from functions.runtime.stack import StackOptions, start_app_processes, stop_processes, wait_healthy

    options = StackOptions(port=free_port(), gateway_workers=2, gateway_threads=16)
    env = {**os.environ, "SCHEDULES": "0", "POLLERS_PER_QUEUE": "2"}
    children = start_app_processes(env, options)
    base = f"http://127.0.0.1:{options.port}"
    try:
        assert wait_healthy(f"{base}/health", timeout=30), "the local stack did not become healthy"
        yield base
    finally:
        stop_processes(children, timeout=30)
