"""The worker process: SQS pollers for every ``on_sqs_message`` handler and the schedules.

``python -m functions.runtime.workers`` — stops gracefully on SIGTERM/SIGINT: the pollers
first drain their queues for at most ``DRAIN_SECONDS`` (default 0: no drain), batches in
progress complete (successes deleted, failures left to come back), then it exits.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from functions.adapters.sqs import sqs_client
from functions.config import Settings, get_settings
from functions.observability import logger
from functions.runtime.app_loader import load_app
from functions.runtime.limits import concurrency
from functions.runtime.pollers import Mapping, SqsPoller, SqsReachability, mappings_of
from functions.runtime.scaling import PollerScaling
from functions.runtime.scheduler import start_schedules


def drain(pollers: Callable[[], list[SqsPoller]], seconds: float) -> None:
    """Keep polling until every poller found its queue empty, or ``seconds`` have passed."""
    if seconds <= 0 or not pollers():
        return
    for poller in pollers():
        poller.idle = False
        poller.draining = True
    deadline = time.monotonic() + seconds
    logger.info("draining the queues", extra={"seconds": seconds})
    while time.monotonic() < deadline and not all(p.idle for p in pollers() if p.draining):
        time.sleep(0.1)


def scaling_of(
    mapping: Mapping, client: Any, stop: threading.Event, settings: Settings, reachability: SqsReachability
) -> PollerScaling[SqsPoller]:
    """A mapping's pollers: ``POLLERS_PER_QUEUE`` at first, up to the function's reserved
    concurrency (or ``POLLERS_MAX``) while batches come back full."""
    reserved = mapping.limits.reserved_concurrency
    maximum = settings.pollers_max if reserved is None else reserved
    turn = threading.Lock()  # one poller at a time collects from a trickle (``SqsPoller._collect``)

    def start_poller() -> SqsPoller:
        poller = SqsPoller(
            client, mapping, stop, settings.aws_region, reachability=reachability, scaling=scaling, turn=turn
        )
        poller.start()
        return poller

    scaling = PollerScaling(
        start_poller, concurrency(mapping.limits, settings.pollers_per_queue), maximum, name=mapping.name
    )
    return scaling


def main() -> int:
    app = load_app()
    settings = get_settings()
    stop, requested = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: requested.set())
    signal.signal(signal.SIGINT, lambda *_: requested.set())
    # SIGUSR1: replaced by a reload; the new process takes over the queues, so no drain
    reloaded = threading.Event()

    def replaced(*_: object) -> None:
        reloaded.set()
        requested.set()

    signal.signal(signal.SIGUSR1, replaced)
    # long polls wait up to 5 s: the read timeout must outlast them
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region, read_timeout=15, wire=settings.sqs_wire)
    reachability = SqsReachability()
    mappings = mappings_of(app)
    if settings.batch_window_seconds is not None:  # local tuning; AWS uses the handlers' own window
        mappings = [replace(m, window_seconds=settings.batch_window_seconds) for m in mappings]
    scalings = [scaling_of(mapping, client, stop, settings, reachability) for mapping in mappings]
    for scaling in scalings:
        scaling.start()

    def pollers() -> list[SqsPoller]:
        return [poller for scaling in scalings for poller in scaling.pollers()]

    if settings.schedules_enabled:
        start_schedules(app, stop, speedup=settings.schedule_speedup)
    logger.info(
        "workers started",
        extra={"pollers": {s.name: f"{s.initial}..{s.maximum}" for s in scalings}},
    )
    requested.wait()
    drain(pollers, 0 if reloaded.is_set() else settings.drain_seconds)
    stop.set()
    for poller in pollers():
        poller.join(timeout=60)
    logger.info("workers stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
