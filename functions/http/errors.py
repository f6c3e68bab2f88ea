"""Domain errors -> HTTP, in one place: the status of each error class, its headers, and
the bridge that lets a domain error raised in a route reach the error middleware."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import chalice
from chalice.app import ChaliceUnhandledError, Response

from functions.errors import (
    BadJson,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    SurgeError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)

STATUS: dict[type[SurgeError], int] = {
    ValidationFailed: 400,
    BadJson: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,  # RequestInProgress, OutOfStock
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    IdempotencyKeyReused: 422,
    RateLimited: 429,
    ServiceUnavailable: 503,  # DependencyDown: a dependency is down, nothing was accepted
}


def status_of(error: SurgeError) -> int:
    """The status of the nearest mapped class (a subclass inherits its parent's)."""
    return next((STATUS[cls] for cls in type(error).__mro__ if cls in STATUS), 500)


def error_response(error: SurgeError) -> Response:
    headers: dict[str, str | list[str]] = {}
    if isinstance(error, (ServiceUnavailable, RateLimited)):
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=error.body(), status_code=status_of(error), headers=headers)


class Raised(ChaliceUnhandledError):
    """Carries a domain error past Chalice, which turns any other exception of a view into
    its own 500 before the middleware could see it."""

    def __init__(self, error: SurgeError):
        super().__init__(str(error))
        self.error = error


def _letting_errors_through(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except SurgeError as exc:
            raise Raised(exc) from exc

    return run


class Blueprint(chalice.Blueprint):
    """A Chalice blueprint whose routes let domain errors reach the error middleware."""

    def route(self, path: str, **kwargs: Any) -> Callable[..., Any]:
        register = super().route(path, **kwargs)

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            register(_letting_errors_through(view))
            return view

        return decorator
