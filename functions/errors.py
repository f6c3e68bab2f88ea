"""Errors a client can be told about, each with its HTTP status and a stable code.

They derive from Chalice's ``ChaliceUnhandledError`` so that Chalice lets them through
to the error middleware (``functions.http.middleware``), which maps every one of them
to a JSON response in one place.
"""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError


class SurgeError(ChaliceUnhandledError):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class ValidationFailed(SurgeError):
    status = 400
    code = "invalid_request"


class BadJson(SurgeError):
    status = 400
    code = "invalid_json"


class Unauthorized(SurgeError):
    status = 401
    code = "unauthorized"


class Forbidden(SurgeError):
    status = 403
    code = "forbidden"


class NotFound(SurgeError):
    status = 404
    code = "not_found"


class Conflict(SurgeError):
    status = 409
    code = "conflict"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class OutOfStock(Conflict):
    code = "out_of_stock"


class PayloadTooLarge(SurgeError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(SurgeError):
    status = 415
    code = "unsupported_media_type"


class IdempotencyKeyReused(SurgeError):
    status = 422
    code = "idempotency_key_reused"


class RateLimited(SurgeError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(SurgeError):
    """A dependency cannot take the request; nothing was accepted, retry later."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 1, **details: Any):
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **details)


class DependencyDown(Exception):
    """Raised by adapters when Redis, SQS or MySQL cannot be reached.

    ``transient`` is False when the service answered but refused this very data (say, a
    MySQL constraint): retrying the same batch as a whole cannot help, one item may.
    """

    def __init__(self, dependency: str, cause: BaseException | None = None, *, transient: bool = True):
        super().__init__(f"{dependency} unavailable: {cause!r}")
        self.dependency = dependency
        self.cause = cause
        self.transient = transient
