"""GET /health: each dependency up or down, with its latency; 503 when one is down.

Under ``./surge up`` it also carries ``runtime``: the local stack's processes (restarts,
last exit) and the faults injected right now."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from functions.bootstrap import surge
from functions.runtime.state import read_runtime

bp = Blueprint(__name__)


def probe(check: Callable[[], object]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means down; say which
        return {"status": "down", "error": type(exc).__name__, "latency_ms": _ms(start)}
    return {"status": "up", "latency_ms": _ms(start)}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


@bp.route("/health", methods=["GET"])
def health() -> Response:
    app = surge()
    checks = {
        "redis": probe(app.redis.ping),
        "sqs": probe(lambda: app.sqs.depth(app.settings.queue_name("payments"))),
        "mysql": probe(app.db.ping),
    }
    healthy = all(c["status"] == "up" for c in checks.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "dependencies": checks}
    runtime = read_runtime()  # the local stack's processes and faults (absent on Lambda)
    if runtime is not None:
        body["runtime"] = runtime
    return Response(
        body=body,
        status_code=200 if healthy else 503,
    )
