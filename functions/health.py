"""GET /health: each dependency up or down, with its latency; 503 when one is down.

Under ``./surge up`` it also carries ``runtime``: the local stack's processes (restarts,
last exit) and the faults injected right now."""

from __future__ import annotations

from chalice import Response

from functions.bootstrap import surge
from functions.http.errors import Blueprint
from functions.runtime.state import read_runtime

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health() -> Response:
    healthy, body = surge().health.check()
    runtime = read_runtime()  # the local stack's processes and faults (absent on Lambda)
    if runtime is not None:
        body["runtime"] = runtime
    return Response(body=body, status_code=200 if healthy else 503)
