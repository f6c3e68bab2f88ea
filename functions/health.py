"""GET /health: each dependency up or down, with its latency; 503 when one is down."""

from __future__ import annotations

from chalice import Response

from functions.bootstrap import surge
from functions.http.errors import Blueprint

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health() -> Response:
    healthy, body = surge().health.check()
    return Response(body=body, status_code=200 if healthy else 503)
