"""GET /metrics: Prometheus text of the counters every process adds to Redis, plus queue depths."""

from __future__ import annotations

from chalice import Response

from functions.admin.operator import require_operator
from functions.bootstrap import surge
from functions.errors import ServiceUnavailable
from functions.http.errors import Blueprint
from functions.telemetry.prometheus import CONTENT_TYPE, render

bp = Blueprint(__name__)


@bp.route("/metrics", methods=["GET"])
def metrics() -> Response:
    app = surge()
    require_operator(bp.current_request.headers, app.settings)
    store = app.metrics.store
    if store is None:
        raise ServiceUnavailable("metrics go to CloudWatch (EMF) in this deployment")
    app.metrics.flush_buffered()  # this process's last second too
    fields = store.read()
    text = render(fields, app.queue_depths.gauges())
    return Response(body=text, status_code=200, headers={"Content-Type": CONTENT_TYPE})
