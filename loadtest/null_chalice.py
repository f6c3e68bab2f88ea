"""A Chalice app that does nothing, served through Surge's own local API Gateway.

Served by granian exactly as the gateway is (``loadtest.bench`` starts it): ``POST /payment``
answers 202 with an id and ``GET /health`` 200, and nothing else happens — no Redis, no SQS.
What a request costs here is the floor of any Chalice route on this machine: granian, the
WSGI hand-off, Chalice's LocalGateway (the Lambda proxy event and context) and Chalice's
routing. ``loadtest.null_app`` is the same without Chalice.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Response

from functions.runtime.gateway import WsgiGateway

app = Chalice(app_name="surge-null")
ACCEPTED = '{"id":"00000000000000000000000000","status":"accepted"}'


@app.route("/payment", methods=["POST"])
def payment() -> Response:
    return Response(body=ACCEPTED, status_code=202, headers={"Content-Type": "application/json"})


@app.route("/health")
def health() -> dict[str, Any]:
    return {}


application = WsgiGateway(app)
