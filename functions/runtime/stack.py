"""``./surge up``: the whole local stack in one command.

Starts the SQS emulator when no endpoint is configured (its queues kept across stops),
applies the schema, creates the queues and their DLQs, then runs the gateway (granian,
several processes) and the worker process under a supervisor that restarts them when
they die, printing the URLs. Only Ctrl-C / SIGTERM stops the stack: the gateway first,
then the workers (after draining the queues for a bounded time), then the emulator,
which saves what is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from functions.adapters.mysql import MySqlTarget
from functions.adapters.schema import apply_schema
from functions.adapters.sqs import SqsQueue, ensure_queues, sqs_client
from functions.admin.secret import admin_key
from functions.config import Settings
from functions.runtime.chaos import Chaos, clear_faults
from functions.runtime.emulator import REPO, port_free, stop_process
from functions.runtime.logs import log_file
from functions.runtime.prometheus import check_prometheus, start_prometheus
from functions.runtime.reload import Watcher
from functions.runtime.sqs_endpoint import start_sqs
from functions.runtime.state import (
    READY_DIR_ENV,
    RUNTIME_FILE_ENV,
    StackState,
    fingerprint,
    forget_stack,
    is_ready,
    running_stack,
    runtime_file,
    var_dir,
)
from functions.runtime.supervisor import Supervisor, log
from functions.workers.queues import app_queues

DRAIN_SECONDS = 10  # on a graceful stop the workers work the backlog off for at most this long

ROUTES = ["POST /payment", "GET /payments/{id}", "GET /statistics", "GET /health"]
ROUTES += ["POST /checkout", "GET /orders/{id}", "GET /products/{id}", "GET /  (dashboard)", "GET /metrics"]


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    gateway_workers: int = 2
    gateway_threads: int = 32
    sqs_port: int = 4566
    chaos: bool = False
    reload: bool = True  # restart gateway and workers when the code or config.json changes
    log_dir: Path = field(default_factory=lambda: var_dir() / "log")
    prometheus_port: int | None = None  # --observability: Prometheus scraping the gateway
    sqs: str = "ministack"  # --sqs: the emulator started when SQS_ENDPOINT_URL is not set


def create_queues(settings: Settings) -> None:
    """The app's queues and their DLQs; idempotent."""
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    for name in app_queues(settings):
        ensure_queues(client, name, f"{name}-dlq", settings.max_receive_count, settings.visibility_timeout)


def prepare(settings: Settings) -> list[str]:
    """Schema and queues; idempotent. Returns the migrations it applied."""
    applied = apply_schema(MySqlTarget.from_url(settings.mysql_url))
    create_queues(settings)
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


def granian_command(wsgi_app: str, options: StackOptions) -> list[str]:
    """granian serving ``wsgi_app`` (``module:attribute``) as the gateway is served."""
    granian = str(Path(sys.executable).with_name("granian"))
    return [granian, "--interface", "wsgi", "--host", options.host, "--port", str(options.port),
            "--workers", str(options.gateway_workers), "--blocking-threads", str(options.gateway_threads),
            "--backlog", "2048", "--working-dir", str(REPO), "--log-level", "warning", wsgi_app]  # fmt: skip


def _spawn(args: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    """A process in a session of its own, writing to ``log`` (under ``./surge up``) or this terminal."""
    if log is None:
        return subprocess.Popen(args, env=env, cwd=REPO, start_new_session=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, cwd=REPO, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


def start_gateway(env: dict[str, str], options: StackOptions, log: Path | None = None) -> subprocess.Popen[bytes]:
    """The gateway: granian, several processes, in a session of its own."""
    gateway_env = {
        **env,
        "SQS_BATCHING": env.get("SQS_BATCHING", "1"),
        # refusals are counted in memory and written once a second, not one Redis call each
        "METRICS_FLUSH_SECONDS": env.get("METRICS_FLUSH_SECONDS", "1"),
        # granian serves at most `backpressure` connections per worker (default backlog/workers,
        # here 1,024): the 5,501st keep-alive client of a flash sale would wait for seconds
        "GRANIAN_BACKPRESSURE": env.get("GRANIAN_BACKPRESSURE", "16384"),
    }
    return _spawn(
        granian_command("functions.runtime.wsgi:application", options),
        gateway_env, log,
    )  # fmt: skip


def start_workers(env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """The worker process: SQS pollers and schedules."""
    # its metric increments are added up in memory and written once a second, as the gateway's
    worker_env = {**env, "METRICS_FLUSH_SECONDS": env.get("METRICS_FLUSH_SECONDS", "1")}
    return _spawn([sys.executable, "-m", "functions.runtime.workers"], worker_env, log)


def start_app_processes(env: dict[str, str], options: StackOptions) -> Children:
    """The gateway and the worker process, with ``env`` (unsupervised: tests and load runs)."""
    return [("gateway", start_gateway(env, options)), ("workers", start_workers(env))]


def stop_processes(children: Children, timeout: float = 70) -> None:
    """SIGTERM in reverse start order, so the emulator outlives its clients."""
    for _name, process in reversed(children):
        stop_process(process, timeout)


def backlog(settings: Settings) -> dict[str, int]:
    """Messages waiting (visible + in flight) in each of the app's queues and DLQs."""
    queues = SqsQueue(sqs_client(settings.sqs_endpoint_url, settings.aws_region))
    counts = {}
    for name in app_queues(settings):
        for queue in (name, f"{name}-dlq"):
            depth = queues.depth(queue)
            counts[queue.removeprefix(settings.queue_prefix)] = depth["visible"] + depth["in_flight"]
    return counts


def refuse_taken_ports(options: StackOptions, embedded_sqs: bool) -> None:
    if not port_free(options.port, options.host):
        raise SystemExit(f"surge up: port {options.port} is taken (choose another with --port)")
    if embedded_sqs and not port_free(options.sqs_port):
        raise SystemExit(
            f"surge up: port {options.sqs_port} is taken (choose another with --sqs-port, or set SQS_ENDPOINT_URL)"
        )
    if (other := running_stack()) is not None:
        raise SystemExit(f"surge up: a stack is already running (pid {other.pid}, {other.gateway}); stop it first")


def run(options: StackOptions) -> int:
    if options.prometheus_port is not None:
        check_prometheus(options.prometheus_port)  # before anything starts
    env = dict(os.environ)
    embedded = not Settings.from_env().sqs_endpoint_url
    refuse_taken_ports(options, embedded)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    chaos: list[Chaos] = []  # made once the SQS endpoint is known
    supervisor = Supervisor(runtime_file(), extra=lambda: chaos[0].status() if chaos else {})
    try:
        return _run(options, env, embedded, supervisor, stop, chaos)
    finally:
        print(f"stopping: gateway, then workers (drain up to {DRAIN_SECONDS}s), then SQS", file=sys.stderr, flush=True)
        if chaos:
            clear_faults()
            for change in chaos[0].apply():  # let the workers drain through healthy proxies
                log(change)
        supervisor.stop(["prometheus", "gateway", "workers", "sqs-emulator"])
        if chaos:
            chaos[0].close()
        forget_stack(os.getpid())
        runtime_file().unlink(missing_ok=True)


def _run(
    options: StackOptions,
    env: dict[str, str],
    embedded: bool,
    supervisor: Supervisor,
    stop: threading.Event,
    chaos: list[Chaos],
) -> int:
    if embedded:
        env["SQS_ENDPOINT_URL"] = f"http://127.0.0.1:{options.sqs_port}"
    os.environ.update(env)
    settings = Settings.from_env()
    if embedded:
        state_dir = var_dir() / "sqs-state"

        label: list[str] = []

        def emulator() -> subprocess.Popen[bytes]:
            process, name = start_sqs(options.sqs, options.sqs_port, options.log_dir, state_dir)
            label[:] = [name]
            create_queues(settings)  # after a crash it may come back without them
            return process

        supervisor.add("sqs-emulator", emulator)
        kept = f" (state kept in {state_dir})" if options.sqs == "ministack" else ""
        print(f"SQS       {label[0]} at {env['SQS_ENDPOINT_URL']}{kept}", flush=True)
    else:
        print(f"SQS       {settings.sqs_endpoint_url}", flush=True)
    applied = prepare(settings)
    if embedded:
        waiting = {queue: count for queue, count in backlog(settings).items() if count}
        restored = ", ".join(f"{queue} {count}" for queue, count in waiting.items()) or "nothing"
        print(f"          restored backlog: {restored}", flush=True)
    print(f"MySQL     {MySqlTarget.from_url(settings.mysql_url).database} schema ready {applied or ''}", flush=True)
    print(f"Redis     {settings.redis_url} prefix {settings.redis_prefix!r}", flush=True)
    env[RUNTIME_FILE_ENV] = str(runtime_file())
    env[READY_DIR_ENV] = str(var_dir() / "ready")
    os.environ.update({READY_DIR_ENV: env[READY_DIR_ENV]})  # the supervisor looks there too
    env["DRAIN_SECONDS"] = env.get("DRAIN_SECONDS", str(DRAIN_SECONDS))
    app_env = dict(env)
    if options.chaos:
        chaos.append(Chaos(settings))
        app_env.update(chaos[0].env())
        print("Chaos     Redis, MySQL and SQS reached through fault proxies: ./surge chaos", flush=True)
    supervisor.add("workers", lambda: start_workers(app_env, log_file("workers")))
    supervisor.add("gateway", lambda: start_gateway(app_env, options, log_file("gateway")))
    base = f"http://{options.host}:{options.port}"
    StackState(
        pid=os.getpid(),
        gateway=base,
        sqs_endpoint_url=settings.sqs_endpoint_url or "",
        queue_prefix=settings.queue_prefix,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
        mysql_url=settings.mysql_url,
        aws_region=settings.aws_region,
        admin_key_fingerprint=fingerprint(admin_key(settings)),
        started_at=time.time(),
        chaos=options.chaos,
    ).save()
    healthy = wait_healthy(f"{base}/health")
    print(f"Gateway   {base}  ({'healthy' if healthy else 'NOT healthy: see /health'})", flush=True)
    for route in ROUTES:
        method, path = route.split(maxsplit=1)
        print(f"          {method:4} {base}{path}", flush=True)
    if options.prometheus_port is not None:
        port = options.prometheus_port
        supervisor.add("prometheus", lambda: start_prometheus(base, port, options.log_dir))
        print(f"Metrics   Prometheus http://127.0.0.1:{options.prometheus_port} (observability/rules.yml)", flush=True)
    print("Workers   SQS pollers + schedules running. Ctrl-C stops everything.", flush=True)
    print(f"Logs      {log_file('gateway').parent}/(gateway|workers).log, readable: ./surge logs [-f]", flush=True)
    watcher = Watcher(REPO) if options.reload else None
    if watcher:
        print("Reload    on: app.py, functions/ and .chalice/config.json are watched (--no-reload)", flush=True)
    ticks = 0
    while not stop.wait(0.1):
        supervisor.tick()
        ticks += 1
        if watcher and ticks % 2 == 0 and (changed := watcher.changed()):
            log(f"reload: {', '.join(changed[:3])}{' …' if len(changed) > 3 else ''} changed")
            # a second granian binds the same port (SO_REUSEPORT); the old one stops once it serves
            supervisor.reload("gateway", signal.SIGTERM, ready=lambda process: is_ready("gateway", process.pid))
            supervisor.reload("workers", signal.SIGUSR1)  # the old one finishes its batch, no drain
        if chaos and (changes := chaos[0].apply()):
            for change in changes:
                log(change)
            supervisor.write_status()
    return 0
