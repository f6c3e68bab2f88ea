"""Helpers shared by the integration and e2e tests (real Redis, MariaDB and SQS)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from functions.adapters.sqs import SqsQueue, sqs_client
from functions.config import Settings


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], Any]:
    """One HTTP call to 127.0.0.1; returns (status, headers, parsed JSON or text)."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, resp_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, resp_headers = exc.code, exc.read(), dict(exc.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, {k.lower(): v for k, v in resp_headers.items()}, parsed


def queue_depth(settings: Settings, kind: str) -> int:
    """Messages of ``kind``'s queue not yet deleted: visible + in flight."""
    depth = SqsQueue(sqs_client(settings.sqs_endpoint_url, settings.aws_region)).depth(settings.queue_name(kind))
    return depth["visible"] + depth["in_flight"]


def delete_queues(settings: Settings, names: list[str]) -> None:
    """Delete each queue and its DLQ; one already gone is fine."""
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    for name in names:
        for queue in (name, f"{name}-dlq"):
            with contextlib.suppress(Exception):
                client.delete_queue(QueueUrl=client.get_queue_url(QueueName=queue)["QueueUrl"])


def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.1, message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def drain(settings: Settings, kind: str = "payments", timeout: float = 60) -> None:
    wait_until(lambda: queue_depth(settings, kind) == 0, timeout, 0.2, f"{kind} queue to drain")


def mysql_count(settings: Settings, table: str = "payments") -> int:
    """Rows in one of this run's tables (``table`` is ours, never user input)."""
    from functions.adapters.mysql import MySqlTarget

    conn = MySqlTarget.from_url(settings.mysql_url).connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def payment_ids(settings: Settings) -> list[str]:
    """Ids of the payments in MySQL."""
    from functions.adapters.mysql import MySqlTarget

    conn = MySqlTarget.from_url(settings.mysql_url).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM payments")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def redis_keys(settings: Settings, pattern: str = "*") -> list[str]:
    """This run's Redis keys matching ``pattern`` (after the prefix)."""
    from functions.adapters.redis_client import connect

    return sorted(connect(settings.redis_url).scan_iter(match=f"{settings.redis_prefix}{pattern}", count=1000))


def work_off(surge_app: Any, kind: str, timeout: float = 30) -> int:
    """Run the app's own event source mapping for ``kind`` (e.g. ``orders``) until its queue
    is empty; return how many batches it handled."""
    import threading

    from app import app
    from functions.runtime.pollers import SqsPoller, mappings_of

    settings = surge_app.settings
    mapping = next(m for m in mappings_of(app) if m.queue == settings.queue_name(kind))
    poller = SqsPoller(surge_app.sqs.client, mapping, threading.Event(), settings.aws_region, wait_seconds=0)
    deadline = time.monotonic() + timeout
    while queue_depth(settings, kind) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} queue not worked off within {timeout}s")
        if not poller.run_once():
            time.sleep(0.05)
    return poller.batches


class Graph:
    """A test's view of the wiring: the services (what entrypoints get) and the adapters
    behind them (to look at Redis, SQS and MySQL), by attribute name."""

    def __init__(self, services: Any, adapters: Any):
        self.services = services
        self.adapters = adapters

    def __getattr__(self, name: str) -> Any:
        for part in (self.services, self.adapters):
            if hasattr(part, name):
                return getattr(part, name)
        raise AttributeError(name)


def hot_figures(graph: Graph, first_second: int = 0, last_second: int = 0) -> Any:
    """What ``GET /statistics`` reads from Redis over [first, last], in its one call."""
    return graph.adapters.statistics.read(first_second, last_second, False, 5, 10)


@contextlib.contextmanager
def redis_namespace(settings: Settings, name: str) -> Iterator[tuple[Any, str]]:
    """A Redis client and a key prefix of this run's own, every key under it deleted after."""
    from functions.adapters.redis_client import connect
    from functions.adapters.redis_keyspace import delete_redis_keys

    client = connect(settings.redis_url)
    prefix = f"{settings.redis_prefix}{name}:"
    try:
        yield client, prefix
    finally:
        delete_redis_keys(client, prefix)


# what a Redis connection says when it is opened or health-checked, besides the work itself
CONNECTION_SETUP = frozenset({"SELECT", "HELLO", "CLIENT", "AUTH", "PING", "ECHO"})


def monitored(client: Any, action: Any) -> list[dict[str, Any]]:
    """Every command MONITOR saw while ``action()`` ran (redis-py's dicts: ``command``,
    ``client_port``, ``client_type`` "lua" for a script's own calls…), of every client."""
    end = f"monitor-end-{time.monotonic_ns()}"
    seen: list[dict[str, Any]] = []
    with client.monitor() as monitor:
        action()
        client.echo(end)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and end not in (str(seen[-1]["command"]) if seen else ""):
            seen.append(monitor.next_command())
    return seen


def redis_commands(client: Any, action: Any, sent_with: str) -> list[str]:
    """The commands Redis ran for ``action()`` on the connection that sent a command containing
    ``sent_with``, in order, without its set-up: MONITOR sees every client of a shared Redis."""
    seen = [(int(c["client_port"] or 0), str(c["command"])) for c in monitored(client, action)]
    port = next(port for port, command in seen if sent_with in command)
    names = [command.split(" ", 1)[0] for p, command in seen if p == port]
    return [name for name in names if name not in CONNECTION_SETUP]
