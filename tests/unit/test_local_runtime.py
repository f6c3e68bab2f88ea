"""The local runtime's pure parts: schedules, Lambda-shaped SQS records, the WSGI adapter."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from chalice import Chalice, Rate

from functions.runtime.gateway import WsgiGateway
from functions.runtime.pollers import lambda_record, mappings_of
from functions.runtime.scheduler import rate_seconds, start_schedules


def test_rate_expressions() -> None:
    assert rate_seconds(Rate(1, unit=Rate.MINUTES)) == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds(Rate(2, unit=Rate.HOURS)) == 7200
    with pytest.raises(ValueError):
        rate_seconds("cron(0 12 * * ? *)")


def test_schedules_run_at_their_rate() -> None:
    app = Chalice("t")
    calls: list[dict[str, Any]] = []

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def tick(event: Any) -> None:
        calls.append(event.to_dict())

    stop = threading.Event()
    start_schedules(app, stop, speedup=600)  # one minute -> 0.1 s
    threading.Event().wait(0.55)
    stop.set()
    assert 3 <= len(calls) <= 6
    assert calls[0]["detail-type"] == "Scheduled Event"


def test_sqs_records_have_lambdas_shape() -> None:
    message = {
        "MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MessageAttributes": {"request_id": {"DataType": "String", "StringValue": "abc"}},
    }  # fmt: skip
    record = lambda_record(message, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1")
    assert record["messageId"] == "m1" and record["receiptHandle"] == "r1"
    assert record["eventSource"] == "aws:sqs"
    assert record["messageAttributes"]["request_id"]["stringValue"] == "abc"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"


def test_mappings_follow_the_handlers_decorators() -> None:
    app = Chalice("t")

    @app.on_sqs_message(queue="q1", batch_size=7, maximum_batching_window_in_seconds=2)
    def handler(event: Any) -> None: ...

    [mapping] = mappings_of(app)
    assert (mapping.queue, mapping.batch_size, mapping.window_seconds) == ("q1", 7, 2)


def _call(app: Chalice, method: str, path: str, body: bytes = b"", **extra: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": extra.pop("query", ""),
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "REMOTE_ADDR": "10.1.2.3", **extra,
    }  # fmt: skip
    out = b"".join(WsgiGateway(app)(environ, lambda status, headers: seen.update(status=status, headers=headers)))
    return seen["status"], dict(seen["headers"]), out


def test_wsgi_adapter_passes_the_callers_address_query_and_body() -> None:
    app = Chalice("t")

    @app.route("/echo", methods=["POST"])
    def echo() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        return {"ip": request.context["identity"]["sourceIp"], "q": request.query_params, "body": request.json_body}

    status, headers, body = _call(app, "POST", "/echo", b'{"a": 1}', query="x=1", CONTENT_TYPE="application/json")
    assert status == "200 OK"
    assert body == b'{"ip":"10.1.2.3","q":{"x":"1"},"body":{"a":1}}'
    assert headers["Content-Length"] == str(len(body))


def test_the_servers_own_http_variables_are_no_request_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """granian merges the server's environment into each request's environ: HTTP_PROXY set
    for the gateway process must not reach the app as a ``proxy`` header."""
    from functions.runtime import gateway

    monkeypatch.setattr(gateway, "_SERVER_HTTP_ENV", {"HTTP_PROXY": "http://corp:3128"})
    app = Chalice("t")

    @app.route("/headers")
    def headers() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        return {k: v for k, v in request.headers.items() if k in ("proxy", "x-trace")}

    # what the server's environment holds arrives with every request; only x-trace was sent
    assert _call(app, "GET", "/headers", HTTP_PROXY="http://corp:3128", HTTP_X_TRACE="t-1")[2] == b'{"x-trace":"t-1"}'
    # a client's own header of that name, with another value, passes
    assert _call(app, "GET", "/headers", HTTP_PROXY="http://other:8080")[2] == b'{"proxy":"http://other:8080"}'


def test_wsgi_adapter_refuses_huge_bodies_before_reading_them() -> None:
    status, _, body = _call(Chalice("t"), "POST", "/x", CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert status.startswith("413") and b"payload_too_large" in body


def test_the_gateways_route_lookup_answers_as_chalices_matcher() -> None:
    from chalice.local import RouteMatcher

    from functions.runtime.gateway import ProxyGateway, StaticRouteMatcher

    # "/q/~r" sorts after "/q/{x}", so Chalice answers it with the capturing route: so must we
    routes = [
        "/", "/payment", "/payments/{payment_id}", "/payments/stats",
        "/a/{x}/c", "/a/b/{y}", "/a/b/c", "/q/{x}", "/q/~r",
    ]  # fmt: skip
    ours, chalice = StaticRouteMatcher(routes), RouteMatcher(routes)
    urls = [
        "/", "/payment", "/payment/", "/payment?x=1&y=", "/payments/stats", "/payments/01ABC", "/payments/stats?a=b",
        "/a/b/c", "/a/z/c", "/a/b/q", "/a/b/c/",
        "/q/~r", "/q/s",
    ]  # fmt: skip
    for url in urls:
        assert ours.match_route(url) == chalice.match_route(url), url
    for unknown in ("/nowhere", "/payments", "/a/b", "/payments/x/y"):
        with pytest.raises(ValueError):
            ours.match_route(unknown)
    # the gateway uses it: the per-request route lookup is a set lookup for /payment
    app = Chalice(app_name="t")
    app.route("/payment", methods=["POST"])(lambda: {})
    gateway = WsgiGateway(app)._gateway
    assert isinstance(gateway, ProxyGateway)
    assert isinstance(gateway.event_converter._route_matcher, StaticRouteMatcher)


def test_the_local_gateway_and_workers_buffer_their_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.runtime import stack

    spawned: dict[str, dict[str, str]] = {}

    def spawn(args: list[str], env: dict[str, str], log: Any) -> Any:
        spawned["workers" if "functions.runtime.workers" in args else "gateway"] = env
        return None

    monkeypatch.setattr(stack, "_spawn", spawn)
    stack.start_app_processes({}, stack.StackOptions())
    assert spawned["gateway"]["METRICS_FLUSH_SECONDS"] == spawned["workers"]["METRICS_FLUSH_SECONDS"] == "1"
    stack.start_workers({"METRICS_FLUSH_SECONDS": "0"})  # what the caller sets wins
    assert spawned["workers"]["METRICS_FLUSH_SECONDS"] == "0"
