"""One place that turns every error into a JSON answer carrying the request id."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from functions.errors import SurgeError
from functions.ids import new_id
from functions.observability import logger

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def request_id_of(request: Request) -> str:
    """API Gateway's request id when there is one (AWS), else a fresh id."""
    context = request.context or {}
    return str(context.get("requestId") or new_id())


def _chalice_error_to_json(response: Response) -> None:
    # Chalice answers 405/415/500 with {"Code", "Message"}; speak our one error shape.
    body = response.body
    if isinstance(body, dict) and "Code" in body and "Message" in body:
        code = _SNAKE.sub("_", str(body["Code"])).lower().removesuffix("_error") or "error"
        response.body = {"code": code, "message": body["Message"]}


def error_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    request_id = request_id_of(request)
    request.context["requestId"] = request_id  # handlers read it from here
    logger.set_correlation_id(request_id)
    try:
        response = get_response(request)
    except SurgeError as exc:
        if exc.status >= 500:
            logger.warning("request refused", extra={"code": exc.code, "reason": exc.message})
        response = Response(body=exc.body(), status_code=exc.status, headers=dict(exc.headers))
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
    return response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers=headers or {})
