"""X-Ray tracing on Lambda (Powertools Tracer, service ``surge``); locally, nothing at all.

On Lambda every invocation (an API request, an SQS batch, a schedule) is one subsegment
``## handler`` annotated with ``ColdStart`` and ``Service``; inside it the SQS and MySQL
calls are subsegments of their own (botocore and pymysql patched). Redis has no X-Ray
patcher: the workers' service calls are traced (``traced``: ``## <module>.<Class>.<method>``)
so their Redis time shows as what those subsegments hold beyond the SQS and MySQL calls.

Off Lambda the Tracer is never built: aws_xray_sdk is not imported, no middleware is
registered and ``traced`` returns the function itself, so the local stack pays nothing.
``POWERTOOLS_TRACE_DISABLED=1`` turns it off on Lambda too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from functions.config import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from chalice import Chalice

SERVICE = "surge"
# what aws_xray_sdk can patch among our clients (boto3 rides on botocore); it has no Redis patcher
PATCHED = ("botocore", "pymysql")

F = TypeVar("F", bound=Callable[..., Any])


@lru_cache(maxsize=1)
def tracer() -> Tracer | None:
    """The process's Tracer on Lambda; ``None`` elsewhere or when tracing is disabled."""
    if not get_settings().on_lambda:
        return None
    from aws_lambda_powertools import Tracer  # imports aws_xray_sdk: only on Lambda

    active = Tracer(service=SERVICE, patch_modules=PATCHED)
    return None if active.disabled else active


def traced(method: F) -> F:
    """``method`` in a subsegment of its own when tracing is on; ``method`` itself otherwise."""
    active = tracer()
    return method if active is None else active.capture_method(capture_response=False)(method)


def instrument(app: Chalice) -> None:
    """Trace every invocation of every function of ``app`` (a no-op when tracing is off)."""
    active = tracer()
    if active is not None:
        app.register_middleware(invocation_middleware(active), "all")


def invocation_middleware(active: Tracer) -> Callable[[Any, Callable[[Any], Any]], Any]:
    """A Chalice middleware running each invocation inside Powertools' ``capture_lambda_handler``
    (Chalice owns the real ``(event, context)`` handler; the middleware is our way in). Responses
    are not recorded: they hold payment data."""

    def handler(event: Any, get_response: Callable[[Any], Any]) -> Any:
        return get_response(event)

    traced_handler: Callable[[Any, Callable[[Any], Any]], Any] = active.capture_lambda_handler(
        handler, capture_response=False
    )
    return traced_handler
