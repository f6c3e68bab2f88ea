"""One place that turns every error into a JSON answer carrying the request id."""

from __future__ import annotations

import re
from collections.abc import Callable

from chalice.app import Request, Response

from functions.bootstrap import surge
from functions.errors import DependencyDown, SurgeError
from functions.http.errors import Raised, error_response
from functions.ids import new_id
from functions.observability import logger, set_correlation_id
from functions.telemetry.metrics import Increments

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def request_id_of(request: Request) -> str:
    """API Gateway's request id when there is one (AWS), else a fresh id kept in the
    request's context, so the routes, the logs and the queued message all carry the same one."""
    if not request.context:  # None outside API Gateway, whatever the type hint says
        request.context = {}
    if not request.context.get("requestId"):
        request.context["requestId"] = new_id()
    return str(request.context["requestId"])


def _chalice_error_to_json(response: Response) -> None:
    # Chalice answers 405/415/500 with {"Code", "Message"}; speak our one error shape.
    body = response.body
    if isinstance(body, dict) and "Code" in body and "Message" in body:
        code = _SNAKE.sub("_", str(body["Code"])).lower().removesuffix("_error") or "error"
        if response.status_code >= 500:  # Chalice caught an exception in a route: say it as we do
            code, body["Message"] = "internal_error", "internal error; quote the request_id"
        response.body = {"code": code, "message": body["Message"]}


def error_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    request_id = request_id_of(request)
    set_correlation_id(request_id)
    try:
        response = get_response(request)
    except (SurgeError, Raised) as exc:
        error = exc.error if isinstance(exc, Raised) else exc
        response = error_response(error)
        if response.status_code >= 500:
            reason = str(error) if isinstance(error, DependencyDown) else error.message  # the cause, for the log
            logger.warning("request refused", extra={"code": error.code, "reason": reason})
    except Exception:  # never let a stack trace reach a client
        logger.exception("unhandled error")
        response = Response(
            body={"code": "internal_error", "message": "internal error; quote the request_id"},
            status_code=500,
        )
    if response.status_code >= 400:
        _chalice_error_to_json(response)
        if isinstance(response.body, dict):
            response.body["request_id"] = request_id
    response.headers["X-Request-Id"] = request_id
    _count_outcome(request, response)
    return response


def _count_outcome(request: Request, response: Response) -> None:
    """Refusals are counted here, in one place (one Redis round trip, only for errors);
    accepted payments are counted by the service inside its Lua call."""
    status = response.status_code
    try:
        metrics = surge().metrics
    except Exception:  # the graph itself could not be built: nothing to count with
        return
    if status >= 400:
        route = str((request.context or {}).get("resourcePath") or "unknown")
        usage = Increments()
        if status == 503:
            usage.count("surge_requests_unavailable_total", route=route)
        elif status >= 500:
            usage.count("surge_requests_failed_total", route=route, status=str(status))
        else:
            code = response.body.get("code", "error") if isinstance(response.body, dict) else "error"
            usage.count("surge_requests_rejected_total", route=route, code=str(code), status=str(status))
        metrics.record(usage)
    metrics.flush()
