"""``@app.schedule`` handlers, locally: each runs at its rate on a thread of its own."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig
from chalice.local import LambdaContext

from functions.observability import logger
from functions.runtime.limits import function_limits

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: Any) -> float:
    """``rate(1 minute)`` -> 60. Cron expressions are not emulated locally."""
    text = expression if isinstance(expression, str) else expression.to_string()
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", text.strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"only rate() schedules run locally, got {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def scheduled_event(name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(time.time_ns()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{name}"],
        "detail": {},
    }


def start_schedules(app: Chalice, stop: threading.Event, speedup: float = 1.0) -> list[threading.Thread]:
    threads = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        period = rate_seconds(source.schedule_expression) / speedup
        handler = app.handler_map[source.name]
        limits = function_limits(source.name)

        def loop(name: str = source.name, handler: Any = handler, period: float = period, limits: Any = limits) -> None:
            logger.thread_safe_append_keys(function=name)
            while not stop.wait(period):
                context = LambdaContext(name, memory_size=limits.memory_mb, max_runtime_ms=int(limits.timeout_s * 1000))
                try:
                    handler(scheduled_event(name), context)
                except Exception:
                    logger.exception("scheduled function failed", extra={"handler": name})

        thread = threading.Thread(target=loop, name=f"schedule-{source.name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
