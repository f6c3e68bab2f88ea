"""The domain's errors: what went wrong, in words a client can be told, with a stable code.

Nothing here knows HTTP: ``functions.http.errors`` maps each class to its status in one
place, and the error middleware turns them into JSON answers.
"""

from __future__ import annotations

from typing import Any


class SurgeError(Exception):
    code = "internal_error"

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class ValidationFailed(SurgeError):
    code = "invalid_request"


class BadJson(SurgeError):
    code = "invalid_json"


class Unauthorized(SurgeError):
    code = "unauthorized"


class Forbidden(SurgeError):
    code = "forbidden"


class NotFound(SurgeError):
    code = "not_found"


class Conflict(SurgeError):
    code = "conflict"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class OutOfStock(Conflict):
    code = "out_of_stock"


class PayloadTooLarge(SurgeError):
    code = "payload_too_large"


class UnsupportedMediaType(SurgeError):
    code = "unsupported_media_type"


class IdempotencyKeyReused(SurgeError):
    code = "idempotency_key_reused"


class RateLimited(SurgeError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **details: Any):
        super().__init__(message, retry_after=str(retry_after), **details)
        self.retry_after = retry_after


class ServiceUnavailable(SurgeError):
    """Surge cannot take the request now; nothing was accepted, retry later."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 1, **details: Any):
        super().__init__(message, **details)
        self.retry_after = retry_after


class DependencyDown(ServiceUnavailable):
    """Raised by adapters when Redis, SQS, MySQL (or a secret store) cannot be reached.

    Unless a service catches it on purpose (say, a payment already durable in SQS keeps
    its 202 when Redis cannot count it), the client is told 503 with ``Retry-After``.
    ``transient`` is False when the service answered but refused this very data (say, a
    MySQL constraint): retrying the same batch as a whole cannot help, one item may.
    ``str()`` keeps the cause for the logs; the client only sees which dependency.
    """

    def __init__(self, dependency: str, cause: BaseException | None = None, *, transient: bool = True):
        super().__init__(f"{dependency} unavailable; retry later")
        self.dependency = dependency
        self.cause = cause
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.dependency} unavailable: {self.cause!r}"
