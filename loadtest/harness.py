"""What the load runner and the benchmark share: their own namespace, a stack, queue depths.

They never touch the data of ``./surge up``: unless told to use the environment as it is
(``use_env``), they work in the MySQL database ``surge_load``, the Redis prefix
``surge-load:`` and the queues ``surge-load-*``, and start their own gateway, worker and
SQS emulator on free ports (``functions.runtime.stack`` pieces).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LOAD_NAMESPACE = {
    "MYSQL_URL": "mysql://root@127.0.0.1:3306/surge_load",
    "REDIS_PREFIX": "surge-load:",
    "QUEUE_PREFIX": "surge-load-",
    "LOG_LEVEL": "WARNING",
}


def use_namespace(use_env: bool) -> None:
    """Call first: ``Settings`` (queue names included) are read from the environment once."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if not use_env:
        os.environ.update(LOAD_NAMESPACE)
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def sqs() -> Any:
    from functions.adapters.sqs import sqs_client
    from functions.config import Settings

    settings = Settings.from_env()
    return sqs_client(settings.sqs_endpoint_url, settings.aws_region)


def queue_depths(client: Any) -> dict[str, int]:
    """Messages not yet stored, per queue (visible + in flight), and ``<queue>-dlq``."""
    from functions.adapters.sqs import SqsQueue
    from functions.workers.queues import app_queues

    queues = SqsQueue(client)
    depths = {}
    for name in app_queues():
        for queue in (name, f"{name}-dlq"):
            depth = queues.depth(queue)
            depths[queue] = depth["visible"] + depth["in_flight"]
    return depths


@dataclass(frozen=True)
class StackShape:
    """How the gateway runs: granian processes and threads, SQS coalescing."""

    # tuned on 2 cores (docs/benchmarks.md): one gateway process makes fuller SQS batches and
    # leaves a core to the worker, the emulator, MySQL, Redis and the load generator; 32
    # threads keep three batches in flight at max load (16 capped it at ~16 requests per batch
    # round trip); a 4 ms window carries ~3 payments per SQS call at 550 req/s instead of ~1.2
    gateway_workers: int = 1
    gateway_threads: int = 32
    sqs_batch_wait_ms: float = 4.0
    pollers_per_queue: int = 5
    sqs_batch_senders: int = 4


def stack_env(shape: StackShape, env: dict[str, str] | None = None) -> dict[str, str]:
    """The gateway's and the worker's environment: this process's, the load-test switches,
    ``shape``, then ``env`` (a variant of ``loadtest.cpu_ab``), which wins over all of them."""
    return {
        **os.environ,
        "SCHEDULES": "0",  # reconcile would rewrite the counters the audit compares
        # one generator address sends thousands of req/s: the per-client limit is switched
        # off here, and only here, by explicit config
        "RATE_LIMIT_ENABLED": "0",
        "PAYMENT_DIRECT_ENABLED": "1",  # the `direct` profile compares against it
        "POLLERS_PER_QUEUE": str(shape.pollers_per_queue),
        "SQS_BATCH_WAIT_MS": f"{shape.sqs_batch_wait_ms:g}",
        "SQS_BATCH_SENDERS": str(shape.sqs_batch_senders),
        **(env or {}),
    }


@contextmanager
def own_stack(
    shape: StackShape = StackShape(), log_dir: Path = REPO / "var" / "log", env: dict[str, str] | None = None
) -> Iterator[str]:
    """SQS emulator (unless ``SQS_ENDPOINT_URL`` is set), gateway and worker on free ports;
    ``env`` is given to the gateway and the worker last (it wins over ``shape``).

    Yields the gateway's base URL; stops everything it started on exit.
    """
    from functions.config import Settings
    from functions.runtime.emulator import free_port, start_ministack
    from functions.runtime.stack import StackOptions, prepare, start_app_processes, stop_processes, wait_healthy

    children: list[tuple[str, Any]] = []
    try:
        if not os.environ.get("SQS_ENDPOINT_URL"):
            port = free_port()
            children.append(("sqs-emulator", start_ministack(port, log_dir / f"ministack-load-{port}.log")))
            os.environ["SQS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        prepare(Settings.from_env())
        options = StackOptions(
            port=free_port(), gateway_workers=shape.gateway_workers, gateway_threads=shape.gateway_threads
        )
        children.extend(start_app_processes(stack_env(shape, env), options))
        base = f"http://127.0.0.1:{options.port}"
        if not wait_healthy(f"{base}/health", timeout=60):
            raise RuntimeError(f"the stack at {base} did not become healthy (see var/log)")
        yield base
    finally:
        stop_processes(children, timeout=30)


def wait_drained(timeout: float = 600, out: Any = sys.stderr) -> dict[str, int]:
    """Wait until every queue is empty, drawing a progress bar; return the last depths."""
    client = sqs()
    start = time.monotonic()
    first = None
    calm = 0
    while True:
        depths = queue_depths(client)
        pending = sum(n for q, n in depths.items() if not q.endswith("-dlq"))
        first = first or pending or 1
        done = max(0.0, 1 - pending / first)
        bar = "#" * int(done * 30)
        out.write(f"\rdraining [{bar:<30}] {pending:>7} messages left  {time.monotonic() - start:5.1f}s")
        out.flush()
        calm = calm + 1 if pending == 0 else 0
        if calm >= 2 or time.monotonic() - start > timeout:
            out.write("\n")
            return depths
        time.sleep(0.5)
