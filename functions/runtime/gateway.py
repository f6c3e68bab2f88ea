"""API Gateway, locally: Chalice's own ``LocalGateway`` behind a WSGI server (granian).

``LocalGateway`` builds the same proxy events and gives the same 403/405/415 answers
as ``chalice local``; only the slow single-threaded HTTP server is replaced.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    LambdaContext,
    LambdaEventConverter,
    LocalGateway,
    LocalGatewayException,
    MatchResult,
    RouteMatcher,
)

from functions.ids import new_id
from functions.observability import logger

# API Gateway refuses payloads over 10 MB; we stop reading much earlier.
MAX_REQUEST_BYTES = 1024 * 1024

_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

# granian copies the server's own environment into every request's environ: a variable such
# as HTTP_PROXY there is no header the client sent (one equal to it by value is dropped too)
_SERVER_HTTP_ENV = {k: v for k, v in os.environ.items() if k.startswith("HTTP_")}


class StaticRouteMatcher(RouteMatcher):
    """Chalice's matcher, with a set of the routes that capture nothing.

    Chalice splits and compares every route for every request (~10 µs with Surge's routes);
    a path such as ``/payment`` is looked up at once. Only a route Chalice itself matches to
    itself goes in the set, so both always agree.
    """

    def __init__(self, route_urls: list[str]) -> None:
        super().__init__(route_urls)
        chalice = super().match_route
        self._static = frozenset(url for url in route_urls if "{" not in url and chalice(url).route == url)

    def match_route(self, url: str) -> MatchResult:
        if url in self._static:  # no query string, no trailing slash
            return MatchResult(url, {}, {})
        return super().match_route(url)


class ProxyGateway(LocalGateway):
    """``LocalGateway`` plus what API Gateway adds: the caller's address and a request id."""

    def __init__(self, app_object: Chalice, config: Config):
        super().__init__(app_object, config)
        routes = StaticRouteMatcher(list(app_object.routes))
        self.event_converter = LambdaEventConverter(routes, app_object.api.binary_types)
        # LocalGateway reads these through Config's chained lookups on every request
        timeout = config.lambda_timeout
        self._context_args = (
            config.function_name,
            config.lambda_memory_size,
            (self.MAX_LAMBDA_EXECUTION_TIME if timeout is None else timeout) * 1000,
        )

    def _generate_lambda_context(self) -> LambdaContext:
        name, memory, max_runtime_ms = self._context_args
        return LambdaContext(function_name=name, memory_size=memory, max_runtime_ms=max_runtime_ms)

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        event = super()._generate_lambda_event(method, path, headers, body)
        forwarded = event["headers"].get("x-forwarded-for", "")
        if forwarded:
            event["requestContext"]["identity"]["sourceIp"] = forwarded.split(",")[-1].strip()
        event["requestContext"]["requestId"] = new_id()
        event["requestContext"]["stage"] = "api"
        return event


def _json_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """Errors raised before the app runs, in the app's one error shape, with a request id."""
    request_id = new_id()
    body = {"code": code, "message": message, "request_id": request_id}
    return status, {"Content-Type": "application/json", "X-Request-Id": request_id}, json.dumps(body).encode()


_GATEWAY_CODES = {403: "unknown_route", 404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}


class _PerThread:
    """A data descriptor holding one value per thread (it wins over the instance's ``__dict__``)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        return self if obj is None else getattr(self._local, "value", None)

    def __set__(self, obj: object, value: Any) -> None:
        self._local.value = value


def per_thread_request(app: Chalice) -> Chalice:
    """Chalice keeps ``current_request`` and ``lambda_context`` on the app object: right on
    Lambda (one request per container at a time), wrong behind a threaded server, where
    a handler would read another request's body. Keep both per thread.
    """
    cls = type(app)
    if not isinstance(cls.__dict__.get("current_request"), _PerThread):
        attrs = {"current_request": _PerThread(), "lambda_context": _PerThread()}
        app.__class__ = type(cls.__name__, (cls,), attrs)
    return app


class WsgiGateway:
    """A WSGI application serving a Chalice app the way API Gateway would."""

    def __init__(self, app: Chalice, stage: str = "local"):
        config = Config.create(chalice_stage=stage, app_name=app.app_name, lambda_timeout=30, lambda_memory_size=512)
        self._gateway = ProxyGateway(per_thread_request(app), config)

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            response = self._gateway.handle_request(method, path, headers, body)
        except LocalGatewayException as exc:
            # e.g. an unknown route: API Gateway's 403 "Missing Authentication Token", said clearly
            if exc.CODE == 403:
                message = f"no route {method} {path.split('?', 1)[0][:200]} (API Gateway answers 403)"
            else:
                message = (exc.body or b"").decode(errors="replace")[:200] or _REASONS.get(exc.CODE, "error")
            return _json_error(exc.CODE, _GATEWAY_CODES.get(exc.CODE, "invalid_request"), message)
        except Exception:  # a request the gateway itself chokes on: never a stack trace
            logger.exception("gateway error", extra={"method": method, "path": path[:200]})
            return _json_error(500, "internal_error", "internal error")
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        raw = response.get("body")
        if raw is None:
            payload = b""
        elif response.get("isBase64Encoded"):
            payload = base64.b64decode(raw)
        else:
            payload = raw.encode() if isinstance(raw, str) else raw
        return int(response["statusCode"]), out_headers, payload

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = {
            k[5:].replace("_", "-").lower(): v
            for k, v in environ.items()
            if k.startswith("HTTP_") and _SERVER_HTTP_ENV.get(k) != v
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        remote = environ.get("REMOTE_ADDR", "127.0.0.1")
        headers["x-forwarded-for"] = (
            f"{headers['x-forwarded-for']}, {remote}" if "x-forwarded-for" in headers else remote
        )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            status, out_headers, payload = _json_error(400, "invalid_request", "bad Content-Length")
        elif length > MAX_REQUEST_BYTES:
            status, out_headers, payload = _json_error(413, "payload_too_large", "request body is too large")
        else:
            body = environ["wsgi.input"].read(length) if length else None
            path = environ.get("PATH_INFO") or "/"
            if environ.get("QUERY_STRING"):
                path = f"{path}?{environ['QUERY_STRING']}"
            status, out_headers, payload = self.handle(environ["REQUEST_METHOD"], path, headers, body)
        if payload and not any(k.lower() == "content-type" for k in out_headers):
            out_headers["Content-Type"] = "application/json"  # API Gateway's default
        out_headers["Content-Length"] = str(len(payload))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", list(out_headers.items()))
        return [payload]
