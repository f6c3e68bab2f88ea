"""Admin routes need the admin key; every client has its own token bucket (real Redis, SQS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from app import app
from functions.bootstrap import build, use
from functions.config import Settings
from tests.support import mysql_count, queue_depth

PAYMENT = json.dumps({"amount": "1.00"})
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def client_with(clean: Settings) -> Iterator[Any]:
    """A Chalice test client on this run's resources with some settings changed."""

    def make(**changes: Any) -> Client:
        use(build(replace(clean, **changes)))
        return Client(app)

    yield make
    use(None)


def _dead_letter(settings: Settings, body: str) -> None:
    from functions.adapters.sqs import sqs_client

    client = sqs_client(settings.sqs_endpoint_url, settings.aws_region)
    url = client.get_queue_url(QueueName=settings.queue_name("payments-dlq"))["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody=body)


def test_admin_routes_need_the_key(client_with: Any, clean: Settings) -> None:
    _dead_letter(clean, "stuck")
    client = client_with(admin_key="s3cret")
    missing = client.http.post("/admin/dlq/payments/redrive")
    wrong = client.http.post("/admin/dlq/payments/redrive", headers={"X-Admin-Key": "s3cre"})
    assert (missing.status_code, json.loads(missing.body)["code"]) == (401, "unauthorized")
    assert (wrong.status_code, json.loads(wrong.body)["code"]) == (403, "forbidden")
    assert client.http.get("/admin/dlq/payments").status_code == 401
    assert queue_depth(clean, "payments-dlq") == 1  # refused means nothing moved
    right = client.http.post("/admin/dlq/payments/redrive", headers={"X-Admin-Key": "s3cret"})
    assert right.status_code == 200
    assert json.loads(right.body) == {"queue": "payments", "redriven": 1}
    assert queue_depth(clean, "payments-dlq") == 0
    assert queue_depth(clean, "payments") == 1


def test_admin_routes_are_disabled_without_a_configured_key(client_with: Any) -> None:
    client = client_with(admin_key="")
    for headers in ({}, {"X-Admin-Key": ""}, {"X-Admin-Key": "anything"}):
        response = client.http.post("/admin/dlq/payments/redrive", headers=headers)
        assert response.status_code == 403
        assert "disabled" in json.loads(response.body)["message"]


def test_operator_surfaces_need_the_key_where_operator_auth_is_on(client_with: Any) -> None:
    """The AWS stack sets OPERATOR_AUTH=admin-key: dashboard, /metrics and queue figures are not public."""
    client = client_with(operator_auth="admin-key", admin_key="s3cret")
    key = {"X-Admin-Key": "s3cret"}
    for path in ("/", "/dashboard", "/metrics"):
        assert client.http.get(path).status_code == 401, path
        assert client.http.get(path, headers={"X-Admin-Key": "guess"}).status_code == 403, path
        assert client.http.get(path, headers=key).status_code == 200, path
    public = json.loads(client.http.get("/statistics").body)
    assert "queues" not in public and "payments" in public  # clients still get the figures
    assert "queues" in json.loads(client.http.get("/statistics", headers=key).body)


def test_operator_surfaces_are_open_on_one_machine(client_with: Any) -> None:
    client = client_with(operator_auth="", admin_key="")
    for path in ("/", "/dashboard", "/metrics"):
        assert client.http.get(path).status_code == 200, path
    assert "queues" in json.loads(client.http.get("/statistics").body)


def test_an_unknown_queue_is_404(client_with: Any) -> None:
    client = client_with(admin_key="s3cret")
    response = client.http.get("/admin/dlq/nope", headers={"X-Admin-Key": "s3cret"})
    assert response.status_code == 404


def test_a_burst_over_the_limit_gets_429_with_retry_after(client_with: Any, clean: Settings) -> None:
    client = client_with(rate_limit_per_second=1.0, rate_limit_burst=5)
    statuses = [
        client.http.post("/payment", body=PAYMENT, headers={**JSON, "X-Api-Key": "greedy"}).status_code
        for _ in range(8)
    ]
    assert statuses == [202] * 5 + [429] * 3
    refused = client.http.post("/payment", body=PAYMENT, headers={**JSON, "X-Api-Key": "greedy"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = json.loads(refused.body)
    assert body["code"] == "rate_limited" and body["request_id"] == refused.headers["X-Request-Id"]
    # another client has its own bucket
    other = client.http.post("/payment", body=PAYMENT, headers={**JSON, "X-Api-Key": "polite"})
    assert other.status_code == 202
    assert queue_depth(clean, "payments") == 6  # the refused ones were never enqueued


def test_without_an_api_key_the_source_address_is_the_client(client_with: Any) -> None:
    client = client_with(rate_limit_per_second=1.0, rate_limit_burst=2)
    statuses = [client.http.get("/statistics").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.http.get("/statistics", headers={"X-Api-Key": "k"}).status_code == 200
    assert client.http.get("/health").status_code == 200  # never limited


def test_disabled_by_config_lets_everything_through(client_with: Any) -> None:
    client = client_with(rate_limit_enabled=False, rate_limit_per_second=1.0, rate_limit_burst=1)
    statuses = {client.http.get("/statistics", headers={"X-Api-Key": "k"}).status_code for _ in range(20)}
    assert statuses == {200}


def test_the_limit_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "0")
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "7.5")
    monkeypatch.setenv("RATE_LIMIT_BURST", "9")
    settings = Settings.from_env()
    assert (settings.rate_limit_enabled, settings.rate_limit_per_second, settings.rate_limit_burst) == (False, 7.5, 9)
    monkeypatch.delenv("RATE_LIMIT_ENABLED")
    assert Settings.from_env().rate_limit_enabled  # on unless explicitly off


def test_reset_and_catalogue_need_the_key_and_then_work(client_with: Any, clean: Settings) -> None:
    client = client_with(admin_key="s3cret")
    for path in ("/admin/reset", "/admin/catalogue"):
        assert client.http.post(path).status_code == 401
        assert client.http.post(path, headers={"X-Admin-Key": "nope"}).status_code == 403
    assert mysql_count(clean, "products") == 0  # refused: nothing loaded

    admin = {"X-Admin-Key": "s3cret", **JSON}
    loaded = client.http.post("/admin/catalogue", headers=admin, body=json.dumps({"products": 3, "hot_stock": 7}))
    assert loaded.status_code == 200, loaded.body
    assert mysql_count(clean, "products") == 4
    too_big = client.http.post("/admin/catalogue", headers=admin, body=json.dumps({"products": 10**9}))
    assert (too_big.status_code, json.loads(too_big.body)["field"]) == (400, "products")

    assert client.http.post("/payment", body=PAYMENT, headers=JSON).status_code == 202
    reset = client.http.post("/admin/reset", headers={"X-Admin-Key": "s3cret"})
    assert reset.status_code == 200, reset.body
    assert mysql_count(clean, "products") == 0 and queue_depth(clean, "payments") == 0


def test_the_cli_reset_and_catalogue_need_the_key(monkeypatch: pytest.MonkeyPatch, clean: Settings) -> None:
    from functions.cli import main

    monkeypatch.setenv("ADMIN_KEY", "s3cret")
    assert main(["reset", "--admin-key", "guess"]) == 3
    assert main(["catalogue", "load", "--products", "1", "--admin-key", "guess"]) == 3
    assert mysql_count(clean, "products") == 0
    monkeypatch.delenv("ADMIN_KEY")
    assert main(["catalogue", "load", "--products", "1", "--admin-key", "s3cret"]) == 3  # none configured
