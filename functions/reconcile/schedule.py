"""The reconcile function, run every minute by the scheduler (EventBridge on AWS)."""

from __future__ import annotations

import json
import time
from typing import Any

from chalice import Blueprint, Rate
from chalice.app import CloudWatchEvent

from functions.bootstrap import Surge, surge
from functions.errors import DependencyDown
from functions.observability import logger
from functions.reconcile.payments import reconcile_payment_statistics

bp = Blueprint(__name__)


def reconcile(app: Surge, now_s: int | None = None) -> dict[str, Any]:
    """Run every reconciliation once; the report is logged and kept for the statistics."""
    now = int(time.time()) if now_s is None else now_s
    try:
        depth = app.sqs.depth(app.settings.queue_name("payments"))
        drained = depth["visible"] == 0 and depth["in_flight"] == 0
    except DependencyDown:
        drained = False
    report = {
        "at": now,
        "payments": reconcile_payment_statistics(
            app.counters, app.ledger, now, app.settings.stats_window_seconds, drained
        ),
    }
    for name, step in app.reconcilers.items():
        report[name] = step(now)
    logger.info("reconciled", extra={"report": report})
    app.redis.set(f"{app.settings.redis_prefix}reconcile:last", json.dumps(report), ex=86400)
    return report


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def reconcile_every_minute(event: CloudWatchEvent) -> dict[str, Any]:
    return reconcile(surge())
