"""POST /checkout, GET /orders/{id}, GET /products/{id}"""

from __future__ import annotations

from typing import Any

from chalice import Response

from functions.bootstrap import surge
from functions.checkout.model import MAX_PRODUCT_ID, CheckoutRequest
from functions.errors import NotFound
from functions.http.errors import Blueprint
from functions.http.request import json_object

bp = Blueprint(__name__)


@bp.route("/checkout", methods=["POST"])
def checkout() -> Response:
    app = surge()
    request = bp.current_request
    body = json_object(request, app.settings.max_body_bytes)
    order = CheckoutRequest.from_body(body)
    accepted = app.checkout.checkout(
        order,
        request_id=request.context["requestId"],
        idempotency_key=request.headers.get("idempotency-key"),
    )
    return Response(body=accepted, status_code=202, headers={"Location": f"/orders/{accepted['order_id']}"})


@bp.route("/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> dict[str, Any]:
    return surge().checkout.status(order_id)


@bp.route("/products/{product_id}", methods=["GET"])
def get_product(product_id: str) -> dict[str, Any]:
    if not (product_id.isascii() and product_id.isdigit() and 1 <= int(product_id[:12]) <= MAX_PRODUCT_ID):
        raise NotFound(f"no product with id {product_id[:40]!r}")
    return surge().checkout.product(int(product_id))
