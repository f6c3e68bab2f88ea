"""POST /payment, GET /payments/{id}"""

from __future__ import annotations

from typing import Any

from chalice import Response

from functions.bootstrap import surge
from functions.config import direct_payments_enabled
from functions.http.errors import Blueprint
from functions.http.request import json_object
from functions.payments.model import PaymentRequest

bp = Blueprint(__name__)


@bp.route("/payment", methods=["POST"])
def create_payment() -> Response:
    app = surge()
    request = bp.current_request
    body = json_object(request, app.settings.max_body_bytes)
    payment = PaymentRequest.from_body(body, app.settings.default_currency)
    accepted = app.payments.accept(
        payment,
        request_id=request.context["requestId"],
        idempotency_key=request.headers.get("idempotency-key"),
    )
    return Response(body=accepted, status_code=202, headers={"Location": f"/payments/{accepted['id']}"})


def create_payment_directly() -> Response:
    """Comparison path for the load test: validates, then INSERTs into MySQL synchronously.

    Same body and validation as ``POST /payment``; answers 201 once the row is committed.
    Routed only with ``PAYMENT_DIRECT_ENABLED=1`` (the local load-test stacks): it puts
    MySQL on the request path, which the AWS stack must not expose.
    """
    app = surge()
    request = bp.current_request
    body = json_object(request, app.settings.max_body_bytes)
    payment = PaymentRequest.from_body(body, app.settings.default_currency)
    stored = app.payments.store_directly(payment, request_id=request.context["requestId"])
    return Response(body=stored, status_code=201, headers={"Location": f"/payments/{stored['id']}"})


if direct_payments_enabled():
    bp.route("/payment/direct", methods=["POST"])(create_payment_directly)


@bp.route("/payments/{payment_id}", methods=["GET"])
def get_payment(payment_id: str) -> dict[str, Any]:
    return surge().payments.status(payment_id)
