"""The worker process: SQS pollers for every ``on_sqs_message`` handler and the schedules.

``python -m functions.runtime.workers`` — stops gracefully on SIGTERM/SIGINT: batches in
progress complete (successes deleted, failures left to come back), then it exits.
"""

from __future__ import annotations

import signal
import sys
import threading

from functions.adapters.sqs import sqs_client
from functions.config import get_settings
from functions.observability import logger
from functions.runtime.app_loader import load_app
from functions.runtime.pollers import SqsPoller, mappings_of
from functions.runtime.scheduler import start_schedules


def main() -> int:
    app = load_app()
    settings = get_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # long polls wait up to 5 s: the read timeout must outlast them
    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region, read_timeout=15)
    per_queue = settings.pollers_per_queue
    pollers = [
        SqsPoller(client, mapping, stop, settings.aws_region) for mapping in mappings_of(app) for _ in range(per_queue)
    ]
    for poller in pollers:
        poller.start()
    if settings.schedules_enabled:
        start_schedules(app, stop, speedup=settings.schedule_speedup)
    logger.info("workers started", extra={"pollers": [p.name for p in pollers]})
    stop.wait()
    for poller in pollers:
        poller.join(timeout=60)
    logger.info("workers stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
