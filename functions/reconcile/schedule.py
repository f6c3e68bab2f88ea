"""The reconcile function, run every minute by the scheduler (EventBridge on AWS)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate
from chalice.app import CloudWatchEvent

from functions.bootstrap import surge

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def reconcile_every_minute(event: CloudWatchEvent) -> dict[str, Any]:
    return surge().reconcile.run()
