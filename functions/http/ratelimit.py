"""Rate limiting per client, in front of every route but the health check.

A client is its ``X-Api-Key`` when it sends one, else its source address (the gateway
takes it from the real peer). Over the limit → 429 with ``Retry-After``. If Redis cannot
answer, the request goes on: the routes decide themselves what they can accept without
Redis (see docs/guarantees.md), and a limiter must not turn a Redis blip into an outage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalice.app import Request, Response

from functions.bootstrap import surge
from functions.errors import DependencyDown, RateLimited
from functions.observability import logger

UNLIMITED_PATHS = frozenset({"/health"})


def client_id(request: Request) -> str:
    """``key:<X-Api-Key>`` (e.g. ``key:k1``) or ``ip:<source address>`` (e.g. ``ip:10.0.0.7``)."""
    headers: Mapping[str, str] = request.headers or {}
    api_key = headers.get("x-api-key")
    if api_key:
        return f"key:{api_key[:256]}"
    identity = (request.context or {}).get("identity") or {}
    return f"ip:{identity.get('sourceIp') or 'unknown'}"


def rate_limit_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    limiter = surge().rate_limiter
    if limiter is None or request.path in UNLIMITED_PATHS:
        return get_response(request)
    try:
        decision = limiter.take(client_id(request))
    except DependencyDown as exc:
        logger.warning("rate limiter unavailable; request let through", extra={"reason": str(exc)})
        return get_response(request)
    if not decision.allowed:
        raise RateLimited("too many requests; slow down", retry_after=decision.retry_after_seconds)
    return get_response(request)
