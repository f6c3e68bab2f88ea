"""``./surge up``: the whole local stack in one command.

Starts the SQS emulator when no endpoint is configured, applies the schema, creates
the queues and their DLQs, then runs the gateway (granian, several processes) and the
worker process, printing the URLs. Ctrl-C / SIGTERM stops them in order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from functions.adapters.mysql import MySqlTarget
from functions.adapters.schema import apply_schema
from functions.adapters.sqs import ensure_queues, sqs_client
from functions.config import Settings
from functions.runtime.emulator import REPO, port_open, stop_process
from functions.runtime.prometheus import NoPrometheus, check_prometheus, start_prometheus
from functions.runtime.sqs_endpoint import start_sqs
from functions.workers.queues import app_queues

ROUTES = ["POST /payment", "GET /payments/{id}", "GET /statistics", "GET /health"]
ROUTES += ["POST /checkout", "GET /orders/{id}", "GET /products/{id}", "GET /  (dashboard)", "GET /metrics"]


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    gateway_workers: int = 2
    gateway_threads: int = 32
    sqs_port: int = 4566
    log_dir: Path = REPO / "var" / "log"
    prometheus_port: int | None = None  # --observability: Prometheus scraping the gateway
    sqs: str = "ministack"  # --sqs: the emulator started when SQS_ENDPOINT_URL is not set


def prepare(settings: Settings) -> list[str]:
    """Schema and queues; idempotent. Returns the migrations it applied."""
    applied = apply_schema(MySqlTarget.from_url(settings.mysql_url))
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    for name in app_queues(settings):
        ensure_queues(client, name, f"{name}-dlq", settings.max_receive_count, settings.visibility_timeout)
    return applied


def wait_healthy(url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except Exception:
            time.sleep(0.2)
    return False


Children = list[tuple[str, "subprocess.Popen[bytes]"]]


def start_app_processes(env: dict[str, str], options: StackOptions) -> Children:
    """The gateway (granian, several processes) and the worker process, with ``env``."""
    gateway_env = {
        **env,
        "SQS_BATCHING": env.get("SQS_BATCHING", "1"),
        # granian serves at most `backpressure` connections per worker (default backlog/workers,
        # here 1,024): the 5,501st keep-alive client of a flash sale would wait for seconds
        "GRANIAN_BACKPRESSURE": env.get("GRANIAN_BACKPRESSURE", "16384"),
    }
    granian = str(Path(sys.executable).with_name("granian"))
    gateway = subprocess.Popen(
        [granian, "--interface", "wsgi", "--host", options.host, "--port", str(options.port),
         "--workers", str(options.gateway_workers), "--blocking-threads", str(options.gateway_threads),
         "--backlog", "2048", "--working-dir", str(REPO), "--log-level", "warning",
         "functions.runtime.wsgi:application"],
        env=gateway_env, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    workers = subprocess.Popen(
        [sys.executable, "-m", "functions.runtime.workers"], env=env, cwd=REPO, start_new_session=True
    )
    return [("gateway", gateway), ("workers", workers)]


def stop_processes(children: Children, timeout: float = 70) -> None:
    """SIGTERM in reverse start order, so the emulator outlives its clients."""
    for _name, process in reversed(children):
        stop_process(process, timeout)


def run(options: StackOptions) -> int:
    children: Children = []
    if options.prometheus_port is not None:
        check_prometheus(options.prometheus_port)  # before anything starts
    env = dict(os.environ)
    if not (env.get("SQS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_SQS")):
        if port_open(options.sqs_port):
            raise SystemExit(f"port {options.sqs_port} is taken: set SQS_ENDPOINT_URL or --sqs-port")
        emulator, label = start_sqs(options.sqs, options.sqs_port, options.log_dir)
        children.append(("sqs-emulator", emulator))
        env["SQS_ENDPOINT_URL"] = f"http://127.0.0.1:{options.sqs_port}"
        print(f"SQS       {label} at {env['SQS_ENDPOINT_URL']}", flush=True)
    else:
        print(f"SQS       {env.get('SQS_ENDPOINT_URL') or env.get('AWS_ENDPOINT_URL_SQS')}", flush=True)
    os.environ.update(env)
    settings = Settings.from_env()
    applied = prepare(settings)
    print(f"MySQL     {MySqlTarget.from_url(settings.mysql_url).database} schema ready {applied or ''}", flush=True)
    print(f"Redis     {settings.redis_url} prefix {settings.redis_prefix!r}", flush=True)
    children += start_app_processes(env, options)
    base = f"http://{options.host}:{options.port}"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    healthy = wait_healthy(f"{base}/health")
    print(f"Gateway   {base}  ({'healthy' if healthy else 'NOT healthy: see /health'})", flush=True)
    for route in ROUTES:
        method, path = route.split(maxsplit=1)
        print(f"          {method:4} {base}{path}", flush=True)
    if options.prometheus_port is not None:
        try:
            children.append(("prometheus", start_prometheus(base, options.prometheus_port, options.log_dir)))
        except NoPrometheus as exc:
            stop_processes(children)
            raise SystemExit(str(exc)) from exc
        print(f"Metrics   Prometheus http://127.0.0.1:{options.prometheus_port} (observability/rules.yml)", flush=True)
    print("Workers   SQS pollers + schedules running. Ctrl-C stops everything.", flush=True)
    code = 0
    while not stop.wait(0.5):
        dead = [(name, p.returncode) for name, p in children if p.poll() is not None]
        if dead:
            print(f"stopping: {dead[0][0]} exited with {dead[0][1]}", flush=True)
            code = 1
            break
    stop_processes(children)
    return code
