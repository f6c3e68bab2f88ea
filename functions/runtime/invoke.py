"""``./surge event`` and ``./surge invoke``: Lambda-shaped events (like ``sam local
generate-event``) and one run of one function with one of them, in this process.

>>> event = sqs_event(['{"any": "body"}'], queue="surge-payments")
>>> event["Records"][0]["eventSourceARN"], event["Records"][0]["body"]
('arn:aws:sqs:us-east-1:000000000000:surge-payments', '{"any": "body"}')

``invoke(app, "store_payments", event)`` then runs the function once and returns its result.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalice import Chalice
from chalice.local import LambdaContext

from functions.ids import new_id
from functions.payments.model import Payment, PaymentRequest
from functions.runtime.limits import function_limits
from functions.runtime.pollers import lambda_record
from functions.runtime.scheduler import scheduled_event

API_FUNCTION = "api_handler"  # Chalice's name for the function behind API Gateway
ACCOUNT = "000000000000"


def payment_message(amount: str, currency: str) -> str:
    """The body the gateway enqueues for ``POST /payment`` with this amount."""
    request = PaymentRequest.from_body({"amount": amount, "currency": currency}, currency)
    now_ms = int(time.time() * 1000)
    return Payment(new_id(now_ms), request.amount_cents, request.currency, now_ms, request_id=new_id()).to_message()


def sqs_event(bodies: list[str], queue: str, region: str = "us-east-1") -> dict[str, Any]:
    """An SQS batch as the event source mapping delivers it."""
    now = str(int(time.time() * 1000))
    messages = [
        {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": f"local-{uuid.uuid4().hex}",
            "Body": body,
            "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now, "SenderId": ACCOUNT},
        }
        for body in bodies
    ]
    arn = f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}"
    return {"Records": [lambda_record(message, arn, region) for message in messages]}


def schedule_event(name: str) -> dict[str, Any]:
    return scheduled_event(name)


def api_event(app: Chalice, method: str, path: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    """An API Gateway proxy event, built by the same gateway ``./surge up`` serves with."""
    from functions.runtime.gateway import WsgiGateway

    event = dict(WsgiGateway(app)._gateway._generate_lambda_event(method, path, headers, body))
    if isinstance(event.get("body"), bytes):  # API Gateway sends text
        event["body"] = event["body"].decode()
    return event


def functions_of(app: Chalice) -> list[str]:
    """The functions Chalice deploys: the API handler and one per event source."""
    return [API_FUNCTION, *(source.name for source in app.event_sources)]


def invoke(app: Chalice, name: str, event: dict[str, Any]) -> Any:
    """Run function ``name`` once with ``event``, with its Lambda context; return its result."""
    if name not in functions_of(app):
        raise KeyError(f"no function {name!r}; there are: {', '.join(functions_of(app))}")
    limits = function_limits(name)
    context = LambdaContext(name, memory_size=limits.memory_mb, max_runtime_ms=int(limits.timeout_s * 1000))
    handler = app if name == API_FUNCTION else app.handler_map[name]
    return handler(event, context)
