"""POST /payment and GET /payments/{id} through the real app (Chalice's LocalGateway),
against real Redis, MariaDB and SQS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support import hot_figures, queue_depth

JSON = {"Content-Type": "application/json"}


def post(client: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.http.post("/payment", headers={**JSON, **(headers or {})}, body=raw)


def recent(surge_app: Any) -> dict[str, Any]:
    now = int(time.time())
    return hot_figures(surge_app, now - 1199, now).payments


def nothing_written(settings: Any, surge_app: Any) -> None:
    assert queue_depth(settings, "payments") == 0
    assert recent(surge_app) == {}


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"amount": 0}, 400, "invalid_request", "greater than 0"),
        ({"amount": -5}, 400, "invalid_request", "greater than 0"),
        ({"amount": "-5.00"}, 400, "invalid_request", "greater than 0"),
        ({"amount": 1.234}, 400, "invalid_request", "2 decimal places"),
        ({"amount": "0.001"}, 400, "invalid_request", "2 decimal places"),
        (b'{"amount": 1e400}', 400, "invalid_request", "at most 1000000.00"),
        ({"amount": 10**30}, 400, "invalid_request", "at most 1000000.00"),
        ({"amount": "1000000.01"}, 400, "invalid_request", "at most 1000000.00"),
        ({"amount": True}, 400, "invalid_request", "number"),
        ({"amount": None}, 400, "invalid_request", "number"),
        ({"amount": [1]}, 400, "invalid_request", "number"),
        ({"amount": {"v": 1}}, 400, "invalid_request", "number"),
        ({"amount": "twelve"}, 400, "invalid_request", "not a decimal"),
        ({"amount": "NaN"}, 400, "invalid_request", "finite"),
        ({}, 400, "invalid_request", "amount is required"),
        ({"amount": 5, "currency": "usd"}, 400, "invalid_request", "ISO 4217"),
        ({"amount": 5, "colour": "red"}, 400, "invalid_request", "unknown field"),
        ([1, 2], 400, "invalid_request", "JSON object"),
        ("5", 400, "invalid_request", "JSON object"),
        (b'{"amount": NaN}', 400, "invalid_json", "NaN"),
        (b'{"amount": Infinity}', 400, "invalid_json", "Infinity"),
        (b'{"amount": 5', 400, "invalid_json", "not valid JSON"),
        (b'{"amount": 5, "amount": 6}', 400, "invalid_json", "duplicate key"),
        (b"", 400, "invalid_json", "empty"),
        (b"\xff\xfe", 400, "invalid_json", "UTF-8"),
        (b"[" * 9000 + b"]" * 9000, 413, "payload_too_large", "larger than"),
        (b'{"amount": "' + b"1" * 17000 + b'"}', 413, "payload_too_large", "16384"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(
    client: Any, surge_app: Any, body: Any, status: int, code: str, fragment: str
) -> None:
    response = post(client, body)
    assert response.status_code == status, response.body
    error = json.loads(response.body)
    assert error["code"] == code
    assert fragment in error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    nothing_written(surge_app.settings, surge_app)


def test_deep_json_within_the_size_limit_is_a_clear_400(client: Any, surge_app: Any) -> None:
    response = post(client, b"[" * 3000 + b"]" * 3000)
    assert response.status_code == 400
    assert json.loads(response.body)["code"] in ("invalid_json", "invalid_request")
    nothing_written(surge_app.settings, surge_app)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(client: Any, surge_app: Any, content_type: str) -> None:
    response = client.http.post("/payment", headers={"Content-Type": content_type}, body='{"amount": 5}')
    assert response.status_code == 415
    assert json.loads(response.body)["code"] == "unsupported_media_type"
    nothing_written(surge_app.settings, surge_app)


def test_missing_content_type_is_415(client: Any, surge_app: Any) -> None:
    response = client.http.post("/payment", headers={}, body='{"amount": 5}')
    assert response.status_code == 415
    nothing_written(surge_app.settings, surge_app)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(12.5, "12.50"), ("12.50", "12.50"), (7, "7.00"), ("0.01", "0.01"), (1000000, "1000000.00")],
)
def test_accepted_payment_is_enqueued_counted_and_answered_202(
    client: Any, surge_app: Any, amount: Any, expected: str
) -> None:
    response = post(client, {"amount": amount})
    assert response.status_code == 202, response.body
    body = json.loads(response.body)
    assert body["status"] == "accepted"
    assert body["amount"] == expected
    assert body["currency"] == "EUR"
    assert response.headers["Location"] == f"/payments/{body['id']}"
    assert queue_depth(surge_app.settings, "payments") == 1
    status = client.http.get(f"/payments/{body['id']}")
    assert status.status_code == 200
    assert json.loads(status.body)["status"] == "accepted"


def test_currency_is_kept(client: Any, surge_app: Any) -> None:
    response = post(client, {"amount": "3.10", "currency": "USD"})
    assert response.status_code == 202
    assert json.loads(response.body)["currency"] == "USD"


def test_same_idempotency_key_and_body_counts_and_enqueues_once(client: Any, surge_app: Any) -> None:
    first = post(client, {"amount": "5.00"}, {"Idempotency-Key": "order-77"})
    again = post(client, {"amount": 5}, {"Idempotency-Key": "order-77"})
    assert first.status_code == again.status_code == 202
    assert json.loads(first.body) == json.loads(again.body)
    assert queue_depth(surge_app.settings, "payments") == 1
    stats = recent(surge_app)
    assert stats["EUR"].count == 1


def test_same_idempotency_key_with_another_body_is_422(client: Any, surge_app: Any) -> None:
    assert post(client, {"amount": "5.00"}, {"Idempotency-Key": "k-1"}).status_code == 202
    other = post(client, {"amount": "6.00"}, {"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert json.loads(other.body)["code"] == "idempotency_key_reused"
    assert queue_depth(surge_app.settings, "payments") == 1


def test_different_idempotency_keys_are_different_payments(client: Any, surge_app: Any) -> None:
    a = json.loads(post(client, {"amount": 5}, {"Idempotency-Key": "a"}).body)
    b = json.loads(post(client, {"amount": 5}, {"Idempotency-Key": "b"}).body)
    assert a["id"] != b["id"]
    assert queue_depth(surge_app.settings, "payments") == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ünïcode"])
def test_malformed_idempotency_key_is_400(client: Any, surge_app: Any, key: str) -> None:
    response = post(client, {"amount": 5}, {"Idempotency-Key": key})
    assert response.status_code == 400
    assert "Idempotency-Key" in json.loads(response.body)["message"]
    nothing_written(surge_app.settings, surge_app)


@pytest.mark.parametrize("payment_id", ["nope", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FA!"])
def test_unknown_payment_is_404_json(client: Any, surge_app: Any, payment_id: str) -> None:
    response = client.http.get(f"/payments/{payment_id}")
    assert response.status_code == 404
    assert json.loads(response.body)["code"] == "not_found"


def test_statistics_window_is_validated(client: Any, surge_app: Any) -> None:
    for bad in ("0", "1201", "abc", "-5"):
        response = client.http.get(f"/statistics?window={bad}")
        assert response.status_code == 400, bad
        assert json.loads(response.body)["field"] == "window"
    assert client.http.get("/statistics?window=60").status_code == 200
