"""A stack of our own for one fault test: its own queues, database, Redis prefix and
gateway + worker processes, with chosen dependencies reached through a ``FaultProxy``.

The session ``stack`` fixture keeps running on the run's shared queues; a fault test
must not have those workers store its messages behind the proxy's back, hence a world
per test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from functions.adapters.mysql import MySqlTarget
from functions.adapters.schema import apply_schema, drop_database
from functions.adapters.sqs import ensure_queues, sqs_client
from functions.config import Settings
from functions.runtime.emulator import REPO, free_port
from functions.runtime.faultproxy import FaultProxy, target_of, with_port
from functions.runtime.stack import Children, StackOptions, start_app_processes, wait_healthy
from tests.checkout_support import order_body
from tests.support import delete_queues, http, payment_ids, queue_depth, wait_until

DEPENDENCIES = ("sqs", "mysql", "redis")


@dataclass
class Attempt:
    """One client request: what it got, and when."""

    status: int
    started: float
    ended: float
    body: Any = None

    @property
    def payment_id(self) -> str | None:
        return self.body.get("id") if self.status == 202 and isinstance(self.body, dict) else None

    @property
    def order_id(self) -> str | None:
        return self.body.get("order_id") if self.status == 202 and isinstance(self.body, dict) else None


@dataclass
class World:
    settings: Settings  # direct connections (for the test's own checks)
    env: dict[str, str]  # what the processes see (through the proxies)
    proxies: dict[str, FaultProxy]
    kinds: list[str]
    children: Children = field(default_factory=list)
    base: str = ""

    # -- processes ------------------------------------------------------------------
    def start(self, healthy: bool = True) -> None:
        options = StackOptions(port=free_port(), gateway_workers=1, gateway_threads=8)
        self.children = start_app_processes(self.env, options)
        self.base = f"http://127.0.0.1:{options.port}"
        if healthy:
            assert wait_healthy(f"{self.base}/health", timeout=30), "fault world did not become healthy"

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return next(p for n, p in self.children if n == name)

    def start_workers(self) -> subprocess.Popen[bytes]:
        """A fresh worker process (after one was killed)."""
        process = subprocess.Popen(
            [sys.executable, "-m", "functions.runtime.workers"], env=self.env, cwd=REPO, start_new_session=True
        )
        self.children = [(n, p) for n, p in self.children if n != "workers"] + [("workers", process)]
        return process

    def signal(self, name: str, sig: signal.Signals) -> subprocess.Popen[bytes]:
        process = self.process(name)
        process.send_signal(sig)
        return process

    # -- traffic --------------------------------------------------------------------
    def pay(self, amount: str = "1.00", key: str | None = None, timeout: float = 15) -> Attempt:
        started = time.monotonic()
        headers = {"Idempotency-Key": key} if key else None
        try:
            status, _, body = http("POST", f"{self.base}/payment", {"amount": amount}, headers, timeout=timeout)
        except OSError as exc:  # connection refused/reset: no answer at all
            status, body = 0, repr(exc)
        return Attempt(status, started, time.monotonic(), body)

    def checkout(self, *lines: tuple[int, int], key: str | None = None, timeout: float = 15) -> Attempt:
        """``checkout((100, 1))``: one buyer's order of (product id, quantity) lines."""
        started = time.monotonic()
        headers = {"Idempotency-Key": key} if key else None
        try:
            status, _, body = http("POST", f"{self.base}/checkout", order_body(*lines), headers, timeout=timeout)
        except OSError as exc:  # connection refused/reset: no answer at all
            status, body = 0, repr(exc)
        return Attempt(status, started, time.monotonic(), body)

    def load(self, seconds: float, threads: int = 6, amount: str = "1.00", limit: int = 5000) -> list[Attempt]:
        """Payments from ``threads`` clients for ``seconds`` (at most ``limit`` in all)."""
        return self._clients(seconds, threads, limit, lambda: self.pay(amount))

    def flash_sale(self, seconds: float, threads: int = 6, limit: int = 3000, pace: float = 0.0) -> list[Attempt]:
        """Buyers of the hot product (1-2 units) and now and then of a regular one, from
        ``threads`` clients for ``seconds`` (at most ``limit`` orders in all; each client at
        most one order every ``pace`` seconds, so a fast machine cannot sell out too soon)."""
        counter = iter(range(limit))

        def buy() -> Attempt:
            n = next(counter, 0)
            return self.checkout((100, 1 + n % 2)) if n % 4 else self.checkout((100, 1), (1001 + n % 3, 1))

        return self._clients(seconds, threads, limit, buy, pace)

    @staticmethod
    def _clients(
        seconds: float, threads: int, limit: int, call: Callable[[], Attempt], pace: float = 0.0
    ) -> list[Attempt]:
        deadline = time.monotonic() + seconds
        per_thread = limit // threads

        def client(_: int) -> list[Attempt]:
            attempts = []
            while time.monotonic() < deadline and len(attempts) < per_thread:
                started = time.monotonic()
                attempts.append(call())
                if pace:
                    time.sleep(max(0.0, pace - (time.monotonic() - started)))
            return attempts

        with ThreadPoolExecutor(threads) as pool:
            return [a for batch in pool.map(client, range(threads)) for a in batch]

    # -- what is where --------------------------------------------------------------
    def mysql_ids(self) -> list[str]:
        return payment_ids(self.settings)

    def mysql_total(self) -> tuple[int, Decimal]:
        conn = MySqlTarget.from_url(self.settings.mysql_url).connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments")
                count, total = cur.fetchone()
                return int(count), Decimal(total)
        finally:
            conn.close()

    def sql(self, statement: str) -> None:
        """Run one of the test's own DDL statements (constant text, no values)."""
        conn = MySqlTarget.from_url(self.settings.mysql_url).connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
            conn.commit()
        finally:
            conn.close()

    def depth(self, kind: str = "payments") -> int:
        return queue_depth(self.settings, kind)

    def receive_counts(self, kind: str = "payments") -> list[int]:
        """Receive counts of up to 10 visible messages (this peek adds one to each)."""
        client = sqs_client(self.settings.sqs_endpoint_url, self.settings.aws_region)
        url = client.get_queue_url(QueueName=self.settings.queue_name(kind))["QueueUrl"]
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + 2 * self.settings.visibility_timeout + 1
        while not messages and time.monotonic() < deadline:  # the workers may hold them all right now
            messages = client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=1,
                AttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
        return [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages] or [0]

    def wait_stored(self, count: int, timeout: float = 60) -> list[str]:
        wait_until(lambda: len(self.mysql_ids()) >= count, timeout, 0.25, f"{count} payments in MySQL")
        wait_until(lambda: self.depth() == 0, timeout, 0.25, "the payments queue to drain")
        return self.mysql_ids()

    def graph(self) -> Any:
        """The wired services on direct connections, for statistics and reconcile."""
        from functions.bootstrap import build

        return build(self.settings)

    def redis_delete_all(self) -> int:
        from functions.adapters.redis_client import connect
        from functions.adapters.redis_keyspace import delete_redis_keys

        return delete_redis_keys(connect(self.settings.redis_url), self.settings.redis_prefix)

    # -- teardown ---------------------------------------------------------------------
    def close(self) -> None:
        # the test is over: no need for a graceful stop (tests of that send SIGTERM themselves)
        for _name, process in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: granian's workers too
            process.wait(timeout=10)
        for proxy in self.proxies.values():
            proxy.close()
        drop_database(MySqlTarget.from_url(self.settings.mysql_url))
        delete_queues(self.settings, [self.settings.queue_name(kind) for kind in self.kinds])
        self.redis_delete_all()


def make_world(run_settings: Settings, proxied: tuple[str, ...] = (), **env: str) -> World:
    """Queues, database and prefix of its own; ``proxied`` dependencies go through a proxy."""
    from functions.workers.queues import app_queues

    name = f"f{uuid.uuid4().hex[:6]}"
    kinds = [q.removeprefix(run_settings.queue_prefix) for q in app_queues(run_settings)]
    direct = replace(
        run_settings,
        queue_prefix=f"{run_settings.queue_prefix}{name}-",
        redis_prefix=f"{run_settings.redis_prefix}{name}:",
        mysql_url=f"{run_settings.mysql_url}_{name}",
        max_receive_count=int(env.get("MAX_RECEIVE_COUNT", run_settings.max_receive_count)),
        visibility_timeout=int(env.get("VISIBILITY_TIMEOUT", run_settings.visibility_timeout)),
    )
    apply_schema(MySqlTarget.from_url(direct.mysql_url))
    client = sqs_client(direct.sqs_endpoint_url, direct.aws_region)
    for kind in kinds:
        ensure_queues(
            client,
            direct.queue_name(kind),
            direct.queue_name(f"{kind}-dlq"),
            direct.max_receive_count,
            direct.visibility_timeout,
        )
    urls = {"sqs": direct.sqs_endpoint_url or "", "mysql": direct.mysql_url, "redis": direct.redis_url}
    defaults = {"sqs": 4566, "mysql": 3306, "redis": 6379}
    proxies = {dep: FaultProxy(target_of(urls[dep], defaults[dep])) for dep in proxied}
    for dep, proxy in proxies.items():
        urls[dep] = with_port(urls[dep], proxy.port)
    process_env = {
        **os.environ,
        "QUEUE_PREFIX": direct.queue_prefix,
        "REDIS_PREFIX": direct.redis_prefix,
        "SQS_ENDPOINT_URL": urls["sqs"],
        "MYSQL_URL": urls["mysql"],
        "REDIS_URL": urls["redis"],
        "SCHEDULES": "0",
        "POLLERS_PER_QUEUE": "2",
        **env,
    }
    return World(settings=direct, env=process_env, proxies=proxies, kinds=kinds)
