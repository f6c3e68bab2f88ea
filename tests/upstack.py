"""A real ``./surge up`` (``python -m functions.cli up``) as a subprocess, on resources of
its own: free ports, its own ``var/`` directory (stack file, runtime status, SQS state),
MySQL database, Redis prefix and queue prefix. Its output goes to a log file.

Example::

    with UpStack.create(tmp_path) as up:
        up.start()
        http("POST", f"{up.base}/payment", {"amount": "1.00"})
        up.stop()             # SIGTERM, as Ctrl-C
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from functions.adapters.mysql import MySqlTarget
from functions.adapters.schema import drop_database
from functions.adapters.sqs import sqs_client
from functions.config import Settings
from functions.runtime.emulator import REPO, free_port
from tests.support import delete_queues, http, payment_ids, queue_depth, wait_until

CLI = [sys.executable, "-m", "functions.cli"]


def cli_env(base: dict[str, str], **extra: str) -> dict[str, str]:
    """``base`` without any SQS endpoint (so nothing but a stack file can point at one)."""
    env = {k: v for k, v in base.items() if k not in ("SQS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS")}
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


@dataclass
class UpStack:
    var: Path
    env: dict[str, str]
    port: int
    sqs_port: int
    settings: Settings  # direct connections for the test's own checks
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    project: Path = REPO  # the checkout it runs (a copy, for tests that edit the code)

    @classmethod
    def create(cls, tmp: Path, sqs_endpoint: str | None = None, **env: str) -> UpStack:
        name = f"u{uuid.uuid4().hex[:6]}"
        run = Settings.from_env()
        settings = Settings(
            redis_url=run.redis_url,
            redis_prefix=f"{run.redis_prefix}{name}:",
            mysql_url=f"{run.mysql_url}_{name}",
            sqs_endpoint_url=sqs_endpoint,
            queue_prefix=f"{run.queue_prefix}{name}-",
            aws_region=run.aws_region,
            admin_key=f"key-{name}",
        )
        process_env = cli_env(
            dict(os.environ),
            SURGE_VAR=str(tmp / "var"),
            QUEUE_PREFIX=settings.queue_prefix,
            REDIS_PREFIX=settings.redis_prefix,
            MYSQL_URL=settings.mysql_url,
            ADMIN_KEY=settings.admin_key,
            SCHEDULES="0",
            LOG_LEVEL="INFO",
            DRAIN_SECONDS="5",
            **env,
        )
        if sqs_endpoint:
            process_env["SQS_ENDPOINT_URL"] = sqs_endpoint
        return cls(tmp / "var", process_env, free_port(), free_port(), settings)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.logs[-1]

    def output(self) -> str:
        """What ``./surge up`` printed, then its processes' log files."""
        files = [*self.logs, *(self.var / "log" / f"{p}.log" for p in ("gateway", "workers"))]
        return "".join(path.read_text(errors="replace") for path in files if path.exists())

    def lines(self, process: str) -> list[str]:
        """One process's JSON log lines (``gateway`` or ``workers``)."""
        path = self.var / "log" / f"{process}.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def start(self, wait: bool = True, extra_args: list[str] | None = None, **env: str) -> None:
        """``./surge up`` (again: same ports, same var/); waits until it serves."""
        self.var.mkdir(parents=True, exist_ok=True)
        log = self.var.parent / f"up-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = subprocess.Popen(
            [
                *CLI,
                "up",
                "--port",
                str(self.port),
                "--sqs-port",
                str(self.sqs_port),
                "--gateway-workers",
                "1",
                *(extra_args or []),
            ],
            env={**self.env, **env},
            cwd=self.project,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            wait_until(self._ready, 90, 0.2, "./surge up to serve")
        if self.settings.sqs_endpoint_url is None:
            self.settings = Settings(**{**self.settings.__dict__, "sqs_endpoint_url": self.sqs_endpoint()})

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"./surge up exited with {self.process.returncode}:\n{self.log.read_text()}")
        return "Workers   SQS pollers" in self.log.read_text(errors="replace")

    def sqs_endpoint(self) -> str:
        return self.settings.sqs_endpoint_url or f"http://127.0.0.1:{self.sqs_port}"

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM (Ctrl-C's twin): a graceful stop; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def runtime(self) -> dict[str, Any]:
        return json.loads((self.var / "runtime.json").read_text())

    def pid(self, name: str) -> int | None:
        try:
            return self.runtime()["processes"][name]["pid"]
        except (OSError, ValueError, KeyError):
            return None

    def health(self) -> dict[str, Any]:
        return http("GET", f"{self.base}/health")[2]

    def queue_url(self, kind: str) -> str:
        client = sqs_client(self.sqs_endpoint(), self.settings.aws_region)
        return str(client.get_queue_url(QueueName=self.settings.queue_name(kind))["QueueUrl"])

    def depth(self, kind: str) -> int:
        """Messages in the stack's ``kind`` queue, visible or in flight."""
        return queue_depth(self.settings, kind)

    def payment_ids(self) -> list[str]:
        return payment_ids(self.settings)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                # its processes live in sessions of their own: kill them too, not just `up`
                for pid in [self.pid(name) for name in ("gateway", "workers", "sqs-emulator")]:
                    with contextlib.suppress(ProcessLookupError, TypeError):
                        os.killpg(pid, signal.SIGKILL)  # type: ignore[arg-type]
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        from functions.adapters.redis_client import connect
        from functions.adapters.redis_keyspace import delete_redis_keys
        from functions.workers.queues import app_queues

        drop_database(MySqlTarget.from_url(self.settings.mysql_url))
        delete_redis_keys(connect(self.settings.redis_url), self.settings.redis_prefix)
        if "SQS_ENDPOINT_URL" in self.env:  # the run's own SQS (directly or through a proxy): our queues go
            run = Settings.from_env()
            delete_queues(
                Settings(**{**self.settings.__dict__, "sqs_endpoint_url": run.sqs_endpoint_url}),
                app_queues(self.settings),
            )

    def __enter__(self) -> UpStack:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def pay(base: str, key: str | None = None, timeout: float = 15) -> tuple[int, Any]:
    headers = {"Idempotency-Key": key} if key else None
    try:
        status, _, body = http("POST", f"{base}/payment", {"amount": "1.00"}, headers, timeout=timeout)
    except OSError as exc:  # connection refused/reset: no answer at all
        return 0, repr(exc)
    return status, body


def copy_project(to: Path) -> Path:
    """A checkout of the app to edit under a running stack (venvs shared, code copied)."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "functions", to / "functions", ignore=ignore)
    shutil.copytree(REPO / ".chalice", to / ".chalice")
    shutil.copytree(REPO / "sql", to / "sql")
    shutil.copy2(REPO / "app.py", to / "app.py")
    (to / ".venv-ministack").symlink_to((REPO / ".venv-ministack").resolve())
    return to


def wait_gone(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return process.wait(timeout=1)
