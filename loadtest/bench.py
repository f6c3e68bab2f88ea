"""``./surge bench``: the performance figures, measured in one run, with ratios.

    ./surge bench                    # full run (~6 min): 2 min at max load, the rest shorter
    ./surge bench --max-seconds 20   # quicker

Phases (one own stack on free ports, in the ``surge_load`` namespace; see loadtest.harness):

1. SQS emulator ceiling: SendMessageBatch(10) and Receive(10)+DeleteMessageBatch from
   4 threads each, on a scratch queue of the same emulator; its CPU per message at full batches.
2. ``POST /payment`` at a fixed 550 req/s (the flash-sale profile's rate), worker draining meanwhile,
   ``GET /statistics`` polled 10x a second on its own connection.
3. ``POST /payment`` at max (closed loop, 64 connections) for ``--max-seconds``, queue
   depth sampled every second, then the time the worker needs to drain the rest.
4. ``POST /payment/direct`` (MySQL INSERT inside the request) at max, 64 connections.
5. The same app under ``chalice local`` at 64 connections.
6. Flash sale: 550 checkouts/s, 97 % for product 100 (10,000 units), until it sells out.
7. Bursts (``loadtest.burst``): 5,500 checkouts of the sold-out product fired at once
   (the 409 path), then, on a fresh catalogue, 5,500 of product 100 at once (the 202 path):
   the time until every one is answered, and checkouts/s.
8. Seed 002's Locust profile (5,500 users spawned at 3,000/s, in phase every 10 s) for
   ``--locust-seconds``: first against a null WSGI app on granian (the floor: Locust and the
   machine alone), then against Surge on a fresh catalogue; p99 ratio to the floor.
9. Floors: ``POST /payment`` at 550 req/s and at max against ``loadtest.null_app`` and
   ``loadtest.null_chalice`` on granian: the CPU per request no change to Surge's code can beat.

The RSS of every stack process is read at idle (before phase 2) and each second of the max
phase (its peak is reported). ``--soak`` runs only ``POST /payment`` at 550 req/s for
``--soak-seconds`` (10 min) and prints the RSS of each process every 30 s.

Every accepted id is checked in MySQL at the end (``loadtest.audit``). The load generator
is ``loadtest.loadgen`` (asyncio); its own CPU share is printed next to each figure, and
the CPU used per request by each process group is listed (what bounds the throughput).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.harness import REPO, StackShape, use_namespace
from loadtest.loadgen import Request, Result, Target, generate

CLIENTS = 64
HOT_PRICE = "499.00"  # functions.checkout.catalogue.catalogue(): product 100 costs 499.00


@dataclass
class Figures:
    """What one phase measured."""

    name: str
    result: Result
    cpu_us: dict[str, float] = field(default_factory=dict)  # CPU µs per request by process group
    notes: dict[str, Any] = field(default_factory=dict)

    def row(self, accepted_status: int) -> dict[str, Any]:
        r = self.result
        n = sum(r.statuses.values()) or 1
        return {
            "phase": self.name,
            "requests": n,
            "accepted_per_s": round(r.per_second(accepted_status), 1),
            "p50_ms": round(r.percentile(50), 2),
            "p99_ms": round(r.percentile(99), 2),
            "errors": r.errors + sum(v for k, v in r.statuses.items() if k >= 500),
            "generator_cpu_share": round(r.cpu_seconds / r.seconds / (os.cpu_count() or 1), 3) if r.seconds else 0,
            "cpu_us_per_request": {k: round(v) for k, v in self.cpu_us.items()},
            **self.notes,
        }


class CpuMeter:
    """CPU seconds of the stack's process groups (children of this process, MySQL, Redis)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._groups: dict[str, list[Any]] = {}
        for p in psutil.Process().children(recursive=True):
            cmd = " ".join(p.cmdline())
            group = (
                "gateway"
                if "granian" in cmd
                else "worker"
                if "runtime.workers" in cmd
                else "sqs"
                if "ministack" in cmd
                else "chalice-local"
                if "chalice" in cmd
                else "other"
            )
            self._groups.setdefault(group, []).append(p)
        for name in ("mariadbd", "redis-server"):
            self._groups[name] = [p for p in psutil.process_iter(["name"]) if p.info["name"] == name]

    def read(self) -> dict[str, float]:
        out = {}
        for group, processes in self._groups.items():
            total = 0.0
            for p in processes:
                with suppress(self._psutil.Error):
                    total += sum(p.cpu_times()[:2])
            out[group] = total
        return out

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each process group (all its processes), MB."""
        out = {}
        for group, processes in self._groups.items():
            total = 0
            for p in processes:
                with suppress(self._psutil.Error):
                    total += p.memory_info().rss
            out[group] = round(total / 2**20, 1)
        return out


def payment_body() -> bytes:
    cents = random.randint(1, 50_000)
    return f'{{"amount": {cents // 100}.{cents % 100:02d}, "currency": "EUR"}}'.encode()


def checkout_body(product_id: int) -> bytes:
    n = random.randint(1, 10**9)
    return (
        f'{{"items":[{{"product_id":{product_id},"quantity":1}}],"delivery":{{"address":"{n} Surge Street",'
        f'"phone":"+3161{n % 10**7:07d}","email":"b{n}@example.com"}}}}'
    ).encode()


def measure(
    name: str, target: Target, request: Callable[[], Request], *, ids: list[str] | None = None, **kwargs: Any
) -> Figures:
    """Run one load phase; record accepted ids into ``ids``; CPU per request by group."""
    meter = CpuMeter()
    before = meter.read()
    result = asyncio.run(generate(target, request, keep_bodies=ids is not None, **kwargs))
    after = meter.read()
    n = sum(result.statuses.values()) or 1
    if ids is not None:
        for _t, status, _ms, body in result.samples:
            if status in (201, 202) and isinstance(body, dict):
                ids.append(str(body.get("id") or body.get("order_id")))
    cpu = {k: (after[k] - before.get(k, 0)) / n * 1e6 for k in after}
    cpu["generator"] = result.cpu_seconds / n * 1e6
    return Figures(name, result, cpu)


class DepthSampler(threading.Thread):
    """Queue depth (visible + in flight) of the payments queue, once a second."""

    def __init__(self, queue: str) -> None:
        super().__init__(daemon=True)
        from loadtest.harness import sqs

        self._client = sqs()
        self._url = self._client.get_queue_url(QueueName=queue)["QueueUrl"]
        self._stop_event = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self._memory = CpuMeter()
        self.rss_peak_mb: dict[str, float] = {}

    def depth(self) -> int:
        attrs = self._client.get_queue_attributes(
            QueueUrl=self._url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def run(self) -> None:
        start = time.monotonic()
        while not self._stop_event.wait(1.0):
            self.samples.append((round(time.monotonic() - start, 1), self.depth()))
            for group, mb in self._memory.rss_mb().items():
                self.rss_peak_mb[group] = max(mb, self.rss_peak_mb.get(group, 0.0))

    def stop(self) -> list[tuple[float, int]]:
        self._stop_event.set()
        self.join()
        return self.samples


def with_statistics_poller(target: Target, run: Callable[[], Figures]) -> tuple[Figures, Result]:
    """``run`` while another thread polls ``GET /statistics`` 10x a second on one connection."""
    box: dict[str, Result] = {}
    stop = threading.Event()

    def poll() -> None:
        async def main() -> Result:
            return await generate(
                target,
                lambda: ("GET", "/statistics", None),
                connections=1,
                seconds=3600,
                rate=10,
                stop_when=lambda _r: stop.is_set(),
            )

        box["result"] = asyncio.run(main())

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    figures = run()
    stop.set()
    thread.join()
    return figures, box["result"]


def sqs_ceiling(seconds: float = 5, threads: int = 4) -> dict[str, float]:
    """The emulator's own batch ceiling: messages/s sent and received+deleted, 10 per call."""
    from functools import partial

    from functions.adapters.sqs import sqs_client
    from functions.config import Settings

    settings = Settings.from_env()
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    url = client.create_queue(QueueName=f"{settings.queue_prefix}bench-ceiling")["QueueUrl"]
    client.purge_queue(QueueUrl=url)
    body = json.dumps({"type": "payment.accepted", "id": "0" * 26, "amount_cents": 1250, "currency": "EUR"})

    def send(stop: float, count: list[int]) -> None:
        while time.monotonic() < stop:
            client.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)])
            count.append(10)

    def receive(stop: float, count: list[int]) -> None:
        while time.monotonic() < stop:
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if messages:
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
                count.append(len(messages))

    def run(jobs: list[tuple[Callable[[float, list[int]], None], list[int]]], seconds: float) -> float:
        start = time.monotonic()
        workers = [threading.Thread(target=partial(fn, start + seconds, c)) for fn, c in jobs]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.monotonic() - start

    out: dict[str, float] = {}
    sent: list[int] = []
    took = run([(send, sent) for _ in range(threads)], seconds)
    out["send_batch_msgs_per_s"] = round(sum(sent) / took)
    received: list[int] = []
    took = run([(receive, received) for _ in range(threads)], seconds)
    out["receive_delete_msgs_per_s_deep_queue"] = round(sum(received) / took)
    out["deep_queue_depth"] = sum(sent)
    client.purge_queue(QueueUrl=url)
    # both at once from an empty queue: what a drain that keeps up can sustain
    sent, received = [], []
    took = run([(send, sent)] * (threads // 2) + [(receive, received)] * (threads // 2), seconds)
    out["send_while_draining_msgs_per_s"] = round(sum(sent) / took)
    out["drained_msgs_per_s_shallow_queue"] = round(sum(received) / took)
    client.purge_queue(QueueUrl=url)
    per_message, sending = emulator_cpu_per_message(client, url, body, seconds)
    out["emulator_cpu_us_per_message_shallow"] = per_message
    out["emulator_send_cpu_us_per_message"] = sending
    client.delete_queue(QueueUrl=url)
    return out


def emulator_cpu_per_message(client: Any, url: str, body: str, seconds: float) -> tuple[float, float]:
    """The emulator's own CPU per message at its best, in all and for the sending alone:
    100 messages sent in full batches of 10, then received and deleted 10 at a time, over
    and over on a queue never deeper than 100 (one client thread, so no request waits on
    another)."""
    meter = CpuMeter()
    before, moved, sending, stop = meter.read().get("sqs", 0.0), 0, 0.0, time.monotonic() + seconds
    entries = [{"Id": str(i), "MessageBody": body} for i in range(10)]
    while time.monotonic() < stop:
        send_started = meter.read().get("sqs", 0.0)
        for _ in range(10):
            client.send_message_batch(QueueUrl=url, Entries=entries)
        sending += meter.read().get("sqs", 0.0) - send_started
        while messages := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            client.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            moved += len(messages)
    return round((meter.read().get("sqs", 0.0) - before) / max(moved, 1) * 1e6), round(sending / max(moved, 1) * 1e6)


@contextmanager
def chalice_local(log: Path) -> Iterator[str]:
    """``chalice local`` on a free port, serving this app (a project dir of symlinks + config)."""
    from functions.runtime.emulator import free_port
    from functions.runtime.stack import wait_healthy

    project = Path(tempfile.mkdtemp(prefix="surge-chalice-local-"))
    for name in ("app.py", "functions", "sql"):
        (project / name).symlink_to(REPO / name)
    (project / ".chalice").mkdir()
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "surge", "stages": {"dev": {"api_gateway_stage": "api"}}})
    )
    port = free_port()
    env = {**os.environ, "SQS_BATCHING": "0", "SCHEDULES": "0", "RATE_LIMIT_ENABLED": "0"}
    chalice = str(Path(sys.executable).with_name("chalice"))
    with log.open("ab") as out:
        process = subprocess.Popen(
            [chalice, "--project-dir", str(project), "local", "--port", str(port), "--no-autoreload"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(f"{base}/health", timeout=60):
            raise RuntimeError(f"chalice local did not start; see {log}")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(project, ignore_errors=True)


def flash_sale(target: Target, seconds: float, rate: float) -> tuple[Figures, list[str]]:
    """550 checkouts/s (97 % for product 100) until 100 is sold out or ``seconds`` pass."""
    from functions.checkout.catalogue import HOT_PRODUCT_ID

    def request() -> Request:
        hunter = random.random() < 0.97
        product = HOT_PRODUCT_ID if hunter else random.randint(1001, 2000)
        return ("POST", "/checkout", checkout_body(product))

    sold_out_at: list[float] = []

    def sold_out(result: Result) -> bool:
        """Stop a second after the first out-of-stock answer for the hot product."""
        if not sold_out_at:
            for t, status, _ms, body in result.samples[-5:]:
                if status == 409 and isinstance(body, dict) and body.get("product_id") == HOT_PRODUCT_ID:
                    sold_out_at.append(t)
            return False
        return result.samples[-1][0] > sold_out_at[0] + 1

    ids: list[str] = []
    figures = measure(
        "flash sale 550 req/s", target, request, ids=ids, connections=CLIENTS, seconds=seconds, rate=rate,
        stop_when=sold_out,
    )  # fmt: skip
    samples = figures.result.samples
    # the hot product is the only one priced 499.00, so its 202s are recognisable by total
    hot = [t for t, status, _ms, body in samples if status == 202 and (body or {}).get("total") == HOT_PRICE]
    last_hot = max(hot, default=0.0)
    until = sorted(ms for t, _status, ms, _body in samples if t <= last_hot)
    figures.notes = {
        "hot_units_accepted": len(hot),
        "sell_out_seconds": round(last_hot, 2),
        "p99_ms_until_sold_out": round(until[int(len(until) * 0.99)], 2) if until else None,
        "answers": dict(figures.result.statuses),
    }
    return figures, ids


class NullServer:
    """A null app served by granian (``null_gateway``): its URL and its processes' CPU."""

    def __init__(self, base: str, pid: int) -> None:
        import psutil

        self.base = base
        root = psutil.Process(pid)
        self._processes = [root, *root.children(recursive=True)]

    def cpu_seconds(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self._processes)


@contextmanager
def null_gateway(
    wsgi_app: str = "loadtest.null_app:application", env: dict[str, str] | None = None, threads: int | None = None
) -> Iterator[NullServer]:
    """granian serving a null app (``loadtest.null_app``, or ``loadtest.null_chalice``) exactly
    as it serves the gateway, on a free port; ``env`` is added to this process's environment."""
    from functions.runtime.emulator import free_port, stop_process
    from functions.runtime.stack import StackOptions, granian_command, wait_healthy

    shape = StackShape()
    options = StackOptions(
        port=free_port(), gateway_workers=shape.gateway_workers, gateway_threads=threads or shape.gateway_threads
    )
    process = subprocess.Popen(
        granian_command(wsgi_app, options), env={**os.environ, "GRANIAN_BACKPRESSURE": "16384", **(env or {})},
        cwd=REPO, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{options.port}"
    try:
        if not wait_healthy(f"{base}/health", timeout=60):
            raise RuntimeError(f"the null app {wsgi_app} did not start")
        yield NullServer(base, process.pid)
    finally:
        stop_process(process, 10)


def floors(seconds: float) -> dict[str, Any]:
    """What no change to Surge's own code can go below, measured like the payments phases:
    ``POST /payment`` at 550 req/s and at max (64 connections) against the null WSGI app and
    the null Chalice app on granian; CPU µs per request of that server's processes."""
    out: dict[str, Any] = {}
    for name, wsgi_app in (("wsgi", "loadtest.null_app:application"), ("chalice", "loadtest.null_chalice:application")):
        with null_gateway(wsgi_app) as server:
            for load, extra in (("550", {"rate": 550}), ("max", {})):
                before = server.cpu_seconds()
                figures = measure(
                    f"null {name} {load}", Target.of(server.base), lambda: ("POST", "/payment", payment_body()),
                    connections=CLIENTS, seconds=seconds, **extra,
                )  # fmt: skip
                used = server.cpu_seconds() - before
                row = figures.row(202)
                out[f"{name}_{load}"] = {
                    "server_cpu_us": round(used / max(row["requests"], 1) * 1e6),
                    "per_s": row["accepted_per_s"],
                    "p99_ms": row["p99_ms"],
                }
    return out


def bursts(base: str, n: int) -> tuple[dict[str, Any], list[str]]:
    """``n`` checkouts of the sold-out product 100 at once (409s), then on a fresh catalogue
    ``n`` of product 100 at once (202s); returns both bursts and the accepted order ids."""
    from functions.bootstrap import surge
    from functions.checkout.catalogue import HOT_PRODUCT_ID
    from loadtest.burst import fire

    body: Callable[[int], bytes] = lambda _i: checkout_body(HOT_PRODUCT_ID)  # noqa: E731
    sold_out = asyncio.run(fire(base, "POST", "/checkout", body, n))
    surge().operator.reset()
    surge().operator.load_catalogue()
    fresh = CpuMeter()
    before = fresh.read()
    accepted = asyncio.run(fire(base, "POST", "/checkout", body, n))
    after = fresh.read()
    row = accepted.row()
    row["cpu_ms_by_group"] = {k: round((after[k] - before.get(k, 0)) * 1000) for k in after}
    return {"burst_409": sold_out.row(), "burst_202": row}, accepted.accepted_ids


def locust_flash_sale(host: str, out: Path, seconds: int) -> dict[str, float]:
    """The flash-sale Locust profile for ``seconds`` against ``host``; its aggregate figures."""
    from loadtest import report
    from loadtest.run import PROFILES, run_locust

    out.mkdir(parents=True, exist_ok=True)
    run_locust(PROFILES["flash-sale"], host, out, [], seconds)
    return report.aggregate(out / "locust")


def audit_drained(base: str, accepted: dict[str, list[str]], initial_stock: dict[int, int] | None = None) -> Any:
    """Wait until the worker has stored everything, then audit ``accepted`` (kind -> ids)."""
    from loadtest import harness
    from loadtest.audit import audit

    depths = harness.wait_drained(timeout=300)
    dlqs = {q: n for q, n in depths.items() if q.endswith("-dlq")}
    return audit(accepted, lambda: json.loads(_get(f"{base}/statistics")), dlqs, initial_stock=initial_stock)


def units_sold(product_id: int, initial: dict[int, int]) -> int | None:
    """Units of ``product_id`` sold according to MySQL: its initial stock minus what is left."""
    from functions.adapters.mysql import MySqlTarget
    from functions.config import Settings

    conn = MySqlTarget.from_url(Settings.from_env().mysql_url).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT stock FROM products WHERE id = %s", (product_id,))
            row = cur.fetchone()
    finally:
        conn.close()
    return None if row is None or product_id not in initial else initial[product_id] - int(row[0])


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?")
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line))
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from functions.checkout.catalogue import HOT_PRODUCT_ID, catalogue
    from functions.config import Settings
    from loadtest import harness
    from loadtest.audit import read_accepted
    from loadtest.run import reset_and_load

    out = Path(args.out or REPO / "var" / "bench" / time.strftime("%Y%m%dT%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine(), "phases": {}}
    phases = report["phases"]
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    shape = StackShape(args.gateway_workers, args.gateway_threads, args.batch_wait_ms, args.pollers, args.senders)
    report["shape"] = shape.__dict__
    with harness.own_stack(shape) as base:
        from functions.bootstrap import surge

        target = Target.of(base)
        surge().operator.reset()
        report["rss_idle_mb"] = CpuMeter().rss_mb()
        say("1/9 SQS emulator ceiling")
        phases["sqs_emulator"] = sqs_ceiling()
        payment_ids: list[str] = []
        queue = Settings.from_env().queue_name("payments")

        say("2/9 POST /payment at 550 req/s, statistics polled")
        sampler = DepthSampler(queue)
        sampler.start()
        fixed, stats = with_statistics_poller(
            target,
            lambda: measure(
                "payments 550 req/s", target, lambda: ("POST", "/payment", payment_body()), ids=payment_ids,
                connections=CLIENTS, seconds=args.fixed_seconds, rate=550,
            ),
        )  # fmt: skip
        fixed.notes["queue_depth"] = sampler.stop()
        phases["payments_550"] = fixed.row(202)
        phases["statistics_under_550"] = latency(stats)
        harness.wait_drained(timeout=300)

        say(f"3/9 POST /payment at max, {CLIENTS} connections, {args.max_seconds}s")
        sampler = DepthSampler(queue)
        sampler.start()
        top, stats = with_statistics_poller(
            target,
            lambda: measure(
                "payments max", target, lambda: ("POST", "/payment", payment_body()), ids=payment_ids,
                connections=CLIENTS, seconds=args.max_seconds,
            ),
        )  # fmt: skip
        depth = sampler.stop()
        report["rss_max_mb"] = sampler.rss_peak_mb
        started = time.monotonic()
        harness.wait_drained(timeout=600)
        top.notes["queue_depth"] = depth
        top.notes["accepted_per_s_by_10s"] = per_window(top.result, 10)
        top.notes["drain_after_load_s"] = round(time.monotonic() - started, 1)
        phases["payments_max"] = top.row(202)
        phases["statistics_under_max"] = latency(stats)

        say("4/9 POST /payment/direct at max (MySQL inside the request)")
        direct = measure(
            "direct max", target, lambda: ("POST", "/payment/direct", payment_body()), ids=payment_ids,
            connections=CLIENTS, seconds=args.short_seconds,
        )  # fmt: skip
        phases["direct_max"] = direct.row(201)

        say("5/9 the same app under chalice local, 64 connections")
        with chalice_local(REPO / "var" / "log" / "bench-chalice-local.log") as local_base:
            local = measure(
                "chalice local", Target.of(local_base), lambda: ("POST", "/payment", payment_body()),
                ids=payment_ids, connections=CLIENTS, seconds=args.short_seconds,
            )  # fmt: skip
        phases["chalice_local"] = local.row(202)
        paid = audit_drained(base, {"payment": payment_ids})
        report["audit_payments"] = [c.__dict__ for c in paid.checks]

        say("6/9 flash sale")
        surge().operator.reset()
        surge().operator.load_catalogue()
        sale, order_ids = flash_sale(target, seconds=120, rate=550)
        phases["flash_sale"] = sale.row(202)
        sold = audit_drained(base, {"order": order_ids}, {p.id: p.stock for p in catalogue()})
        report["audit_orders"] = [c.__dict__ for c in sold.checks]

        say(f"7/9 bursts of {args.burst} checkouts at once: sold out (409), then fresh stock (202)")
        burst_rows, burst_ids = bursts(base, args.burst)
        phases.update(burst_rows)
        burst_audit = audit_drained(base, {"order": burst_ids}, {p.id: p.stock for p in catalogue()})
        report["audit_burst"] = [c.__dict__ for c in burst_audit.checks]

        say(f"8/9 the flash-sale Locust profile, {args.locust_seconds}s: the floor (null app), then Surge")
        with null_gateway() as null_server:
            phases["locust_floor"] = locust_flash_sale(null_server.base, out / "locust-floor", args.locust_seconds)
        initial = reset_and_load(True)
        phases["locust_flash_sale"] = locust_flash_sale(base, out / "locust-surge", args.locust_seconds)
        seed = audit_drained(base, read_accepted(out / "locust-surge" / "ids"), initial)
        phases["locust_flash_sale"]["hot_units_sold"] = units_sold(HOT_PRODUCT_ID, initial or {})
        report["audit_locust"] = [c.__dict__ for c in seed.checks]
        report["audit_ok"] = paid.ok and sold.ok and burst_audit.ok and seed.ok

        say(f"9/9 floors: null WSGI and null Chalice apps on granian, {args.floor_seconds}s at 550 req/s and at max")
        phases["floors"] = floors(args.floor_seconds)
    report["payments_accepted_total"] = len(payment_ids)
    report["machine"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    (out / "bench.json").write_text(json.dumps(report, indent=2, default=str))
    print(render(report))
    (out / "bench.md").write_text(render(report) + "\n")
    say(f"written: {out}/bench.json, bench.md")
    return report


def soak(args: argparse.Namespace) -> dict[str, Any]:
    """``POST /payment`` at 550 req/s for ``--soak-seconds``, RSS of every process group
    every 30 s (printed as it goes), then the audit of every accepted id."""
    from loadtest import harness

    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    shape = StackShape(args.gateway_workers, args.gateway_threads, args.batch_wait_ms, args.pollers, args.senders)
    report: dict[str, Any] = {"machine": machine(), "shape": shape.__dict__, "rss_mb_over_time": []}
    samples: list[dict[str, float]] = report["rss_mb_over_time"]
    ids: list[str] = []
    with harness.own_stack(shape) as base:
        from functions.bootstrap import surge

        surge().operator.reset()
        meter, stop = CpuMeter(), threading.Event()
        say("RSS (MB) every 30 s: t_s " + " ".join(STACK_GROUPS))

        def sample() -> None:
            start = time.monotonic()
            while True:
                rss = meter.rss_mb()
                samples.append({"t_s": round(time.monotonic() - start), **rss})
                say(f"{samples[-1]['t_s']:>5} " + " ".join(f"{rss.get(g, 0):>8}" for g in STACK_GROUPS))
                if stop.wait(30):
                    return

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        figures = measure(
            "soak 550 req/s", Target.of(base), lambda: ("POST", "/payment", payment_body()), ids=ids,
            connections=CLIENTS, seconds=args.soak_seconds, rate=550,
        )  # fmt: skip
        stop.set()
        thread.join()
        paid = audit_drained(base, {"payment": ids})
    report["soak"] = figures.row(202)
    report["audit_payments"] = [c.__dict__ for c in paid.checks]
    report["audit_ok"] = paid.ok
    report["machine"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    warm = [r for r in samples if r["t_s"] >= 60] or samples
    lines = [
        f"soak: {report['soak']['requests']} requests at 550 req/s, p50 {report['soak']['p50_ms']} ms, "
        f"p99 {report['soak']['p99_ms']} ms, CPU per payment {stack_cpu_ms(report['soak']):.2f} ms (stack)",
        "RSS growth after the first minute (MB, last - first): "
        + ", ".join(f"{g} {warm[-1].get(g, 0) - warm[0].get(g, 0):+.1f}" for g in STACK_GROUPS),
        "audit: " + ("PASS" if paid.ok else "FAIL"),
    ]
    print("\n".join(lines))
    out = Path(args.out or REPO / "var" / "bench" / time.strftime("soak-%Y%m%dT%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=2, default=str))
    say(f"written: {out}/soak.json")
    return report


def per_window(result: Result, seconds: int) -> list[int]:
    """Accepted (201/202) per second, averaged over each ``seconds`` window."""
    counts: dict[int, int] = {}
    for t, status, _ms, _body in result.samples:
        if status in (201, 202):
            counts[int(t // seconds)] = counts.get(int(t // seconds), 0) + 1
    return [round(counts.get(w, 0) / seconds) for w in range(max(counts, default=-1) + 1)]


def latency(result: Result) -> dict[str, Any]:
    return {
        "requests": sum(result.statuses.values()),
        "p50_ms": round(result.percentile(50), 2),
        "p99_ms": round(result.percentile(99), 2),
    }


def _get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def stack_cpu_ms(phase: dict[str, Any]) -> float:
    """CPU per request of every stack process (not the generator), ms."""
    cpu = phase["cpu_us_per_request"]
    return sum(cpu.get(g, 0) for g in STACK_GROUPS) / 1000


def render(report: dict[str, Any]) -> str:
    """The table of figures against the targets, with ratios."""
    ph = report["phases"]
    names = ("payments_max", "payments_550", "chalice_local", "direct_max", "flash_sale")
    top, fixed, local, direct, sale = (ph[k] for k in names)
    depth = [d for _t, d in top.get("queue_depth", [])] or [0]
    b202, b409 = ph.get("burst_202", {}), ph.get("burst_409", {})
    floor, seed = ph.get("locust_floor", {}), ph.get("locust_flash_sale", {})
    stats550, statsmax = ph["statistics_under_550"], ph["statistics_under_max"]
    rows = [
        ("accepted payments/s at max, " + f"{top['requests'] / max(top['accepted_per_s'], 1):.0f} s, {CLIENTS} conns",
         f"{top['accepted_per_s']:.0f}/s (p50 {top['p50_ms']} ms, p99 {top['p99_ms']} ms)", "-", "-"),
        ("queued ÷ direct MySQL path at max",
         f"{top['accepted_per_s']:.0f}/s vs {direct['accepted_per_s']:.0f}/s (direct p99 {direct['p99_ms']} ms)",
         ">= 1.0x", f"{top['accepted_per_s'] / max(direct['accepted_per_s'], 0.1):.2f}x"),
        ("Surge ÷ chalice local at 64 conns", f"{top['accepted_per_s']:.0f}/s vs {local['accepted_per_s']:.0f}/s "
         f"(chalice local p99 {local['p99_ms']} ms, errors {local['errors']})", ">= 10x",
         f"{top['accepted_per_s'] / max(local['accepted_per_s'], 0.1):.1f}x"),
        ("CPU per accepted payment at 550 req/s, all stack processes", f"{stack_cpu_ms(fixed):.2f} ms", "<= 0.8 ms",
         f"{stack_cpu_ms(fixed) / 0.8:.2f}x of limit"),
        ("CPU per accepted payment at max, all stack processes", f"{stack_cpu_ms(top):.2f} ms", "<= 0.6 ms",
         f"{stack_cpu_ms(top) / 0.6:.2f}x of limit"),
        ("queue depth during max load (drain running)", f"max {max(depth)}, at end {depth[-1]}; "
         f"drained {top.get('drain_after_load_s')} s after", "bounded", "see depth series"),
        ("accepted/s per 10 s window at max", " ".join(map(str, top.get("accepted_per_s_by_10s", []))), "-", "-"),
        ("POST /payment p99 at 550 req/s", f"{fixed['p99_ms']} ms (p50 {fixed['p50_ms']} ms, "
         f"{fixed['accepted_per_s']:.0f}/s)", "<= 10 ms", f"{fixed['p99_ms'] / 10:.2f}x of limit"),
        ("GET /statistics p99 under 550 req/s", f"{stats550['p99_ms']} ms (p50 {stats550['p50_ms']} ms)", "<= 10 ms",
         f"{stats550['p99_ms'] / 10:.2f}x of limit"),
        ("GET /statistics p99 under max load", f"{statsmax['p99_ms']} ms", "-", "-"),
        ("POST /checkout p99 at 550 req/s (flash sale, until sold out)",
         f"{sale.get('p99_ms_until_sold_out')} ms (whole phase p99 {sale['p99_ms']} ms)", "<= 10 ms",
         f"{(sale.get('p99_ms_until_sold_out') or 0) / 10:.2f}x of limit"),
        ("flash sale: units of product 100 sold",
         f"{sale.get('hot_units_accepted')} in {sale.get('sell_out_seconds')} s", "exactly 10,000", "audit below"),
    ]  # fmt: skip
    if b202:
        rows += [
            (f"burst of {b202['requests']} checkouts at once, 202 path", f"all answered in {b202['answered_all_s']} s "
             f"({b202['per_second']} checkouts/s; {b202['statuses']}, errors {b202['errors']})", "<= 2 s",
             f"{b202['answered_all_s'] / 2:.2f}x of limit"),
            (f"burst of {b409['requests']} checkouts at once, 409 (sold out) path",
             f"all answered in {b409['answered_all_s']} s ({b409['per_second']} checkouts/s; {b409['statuses']})",
             "-", "-"),
        ]  # fmt: skip
    if floor and seed:
        rows.append(
            ("flash-sale Locust profile p99: Surge vs the floor (null app on granian)",
             f"{seed.get('p99', 0):.0f} ms vs {floor.get('p99', 0):.0f} ms (p50 {seed.get('p50', 0):.0f} vs "
             f"{floor.get('p50', 0):.0f} ms; {seed.get('count', 0):.0f} requests, {seed.get('failures', 0):.0f} "
             f"failures; units of product 100 sold {seed.get('hot_units_sold')})", "<= 1.5x the floor",
             f"{seed.get('p99', 0) / max(floor.get('p99', 0), 1):.2f}x")
        )  # fmt: skip
    rows.append(
        ("SQS emulator ceiling (batches of 10, 4 threads)",
         "send {send_batch_msgs_per_s}/s; receive+delete {receive_delete_msgs_per_s_deep_queue}/s from "
         "{deep_queue_depth} deep; both at once {send_while_draining_msgs_per_s}/s in, "
         "{drained_msgs_per_s_shallow_queue}/s out".format(**ph["sqs_emulator"]), "-", "-"),
    )  # fmt: skip
    lines = ["| measure | result | target | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += render_floors(ph, report["machine"]["nproc"])
    lines += ["", "CPU per request (µs) by process group, and the generator's share of the 2 cores:", "",
              "| phase | " + " | ".join(GROUPS) + " | generator share |", "|---" * (len(GROUPS) + 2) + "|"]  # fmt: skip
    for key in ("payments_550", "payments_max", "direct_max", "chalice_local", "flash_sale"):
        cpu = ph[key]["cpu_us_per_request"]
        share = ph[key]["generator_cpu_share"]
        lines.append(f"| {key} | " + " | ".join(str(cpu.get(g, "")) for g in GROUPS) + f" | {share:.1%} |")
    if report.get("rss_idle_mb"):
        idle, peak = report["rss_idle_mb"], report.get("rss_max_mb", {})
        lines += ["", "Resident memory (MB) by process group, at idle and the peak of the max phase:", "",
                  "| group | idle | at max |", "|---|---|---|"]  # fmt: skip
        lines += [f"| {g} | {idle.get(g, '')} | {peak.get(g, '')} |" for g in STACK_GROUPS]
    checks = [
        c for key in ("audit_payments", "audit_orders", "audit_burst", "audit_locust") for c in report.get(key, [])
    ]
    lines += ["", "Audit:", "", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {c['name']} | {'PASS' if c['ok'] else 'FAIL'} | {c['detail']} |" for c in checks]
    m = report["machine"]
    lines += [
        "",
        f"Machine: {m['nproc']} x {m['cpu']}, {m['ram_gb']} GB RAM; {m['date_utc']}; load average before "
        f"{m['load_avg_before']}, after {m.get('load_avg_after')}; shape {report['shape']}",
    ]
    return "\n".join(lines)


def render_floors(ph: dict[str, Any], nproc: int) -> list[str]:
    """The floors below which no change to Surge's own code can bring the CPU per payment."""
    fl, emulator = ph.get("floors"), ph["sqs_emulator"].get("emulator_cpu_us_per_message_shallow")
    if not fl or emulator is None:
        return []
    wsgi550, wsgimax, ch550, chmax = (fl[k] for k in ("wsgi_550", "wsgi_max", "chalice_550", "chalice_max"))
    low550, lowmax = (ch550["server_cpu_us"] + emulator) / 1000, (chmax["server_cpu_us"] + emulator) / 1000
    lines = ["", "Floors in the same run: CPU µs per request of a server that does nothing, and the SQS emulator's",
             "own CPU per message at full batches of 10 (send, receive, delete) on a shallow queue:", "",
             "| floor | at 550 req/s | at max (64 conns) |", "|---|---|---|",
             f"| null WSGI app on granian | {wsgi550['server_cpu_us']} µs | {wsgimax['server_cpu_us']} µs "
             f"({wsgimax['per_s']:.0f}/s) |",
             f"| null Chalice route through the local API Gateway on granian | {ch550['server_cpu_us']} µs | "
             f"{chmax['server_cpu_us']} µs ({chmax['per_s']:.0f}/s) |",
             f"| SQS emulator, per message | {emulator} µs | {emulator} µs |",
             f"| a payment can cost no less than (Chalice route + emulator) | {low550:.2f} ms (target <= 0.8 ms) "
             f"| {lowmax:.2f} ms (target <= 0.6 ms) |"]  # fmt: skip
    return lines + render_reach(ph, chmax["server_cpu_us"], nproc)


def render_reach(ph: dict[str, Any], route_us: float, nproc: int) -> list[str]:
    """What the rate targets ask of this machine: the CPU that the floors alone, and the load
    generator, need at that rate (the worker may fall behind meanwhile, so only the sending
    part of the emulator's cost counts), against its cores."""
    sending = ph["sqs_emulator"].get("emulator_send_cpu_us_per_message")
    local, top = ph["chalice_local"], ph["payments_max"]
    if sending is None or not local.get("accepted_per_s"):
        return []
    generator = top["cpu_us_per_request"].get("generator", 0)
    per_payment = route_us + sending + generator
    rate = 10 * local["accepted_per_s"]
    return ["", "What the rate target asks of this machine (floors at max, the emulator's sending alone, and the",
            "load generator's own CPU per request in the max phase):", "",
            "| target | rate | CPU µs per payment, floors + generator | cores needed (machine has "
            f"{nproc}) |", "|---|---|---|---|",
            f"| 10x `chalice local` at 64 conns | {rate:.0f}/s | {route_us:.0f} + {sending:.0f} + {generator:.0f} "
            f"= {per_payment:.0f} | {rate * per_payment / 1e6:.2f} |"]  # fmt: skip


STACK_GROUPS = ["gateway", "worker", "sqs", "mariadbd", "redis-server"]
GROUPS = ["gateway", "worker", "sqs", "mariadbd", "redis-server", "chalice-local", "generator"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surge bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--max-seconds", type=float, default=90, help="length of the max-load phase")
    p.add_argument("--fixed-seconds", type=float, default=30, help="length of the 550 req/s phase")
    p.add_argument("--floor-seconds", type=float, default=8, help="each floor measurement")
    p.add_argument("--short-seconds", type=float, default=15, help="direct path and chalice local phases")
    p.add_argument("--burst", type=int, default=5500, help="checkouts fired at once in each burst")
    p.add_argument("--locust-seconds", type=int, default=30, help="each flash-sale Locust run (floor, Surge)")
    p.add_argument("--soak", action="store_true", help="only POST /payment at 550 req/s, RSS every 30 s")
    p.add_argument("--soak-seconds", type=float, default=600)
    p.add_argument("--out", help="directory for bench.json and bench.md")
    p.add_argument(
        "--use-env", action="store_true", help="use MYSQL_URL/REDIS_PREFIX/QUEUE_PREFIX as set (else surge_load)"
    )
    p.add_argument("--gateway-workers", type=int, default=StackShape.gateway_workers)
    p.add_argument("--gateway-threads", type=int, default=StackShape.gateway_threads)
    p.add_argument("--batch-wait-ms", type=float, default=StackShape.sqs_batch_wait_ms)
    p.add_argument("--senders", type=int, default=StackShape.sqs_batch_senders, help="SQS batch sender threads")
    p.add_argument("--pollers", type=int, default=StackShape.pollers_per_queue, help="pollers per queue")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    use_namespace(args.use_env)
    report = soak(args) if args.soak else run(args)
    return 0 if report.get("audit_ok") else 1


if __name__ == "__main__":
    sys.exit(main())
