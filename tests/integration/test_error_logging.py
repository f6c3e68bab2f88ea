"""An unexpected error: the client gets a JSON 500 with a request id and no stack trace;
the log has the stack trace under that same request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from functions.bootstrap import Surge
from functions.observability import logger


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the app logs, formatted by its own (Powertools JSON) formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_handler.formatter)
    # Chalice logs the exception it catches in a route on its app logger ("surge")
    targets = [logging.getLogger("surge"), logger._logger]
    for target in set(targets):
        target.addHandler(handler)
    yield stream
    for target in set(targets):
        target.removeHandler(handler)


def test_an_unhandled_error_is_logged_with_the_request_id_the_client_gets(
    client: Any, surge_app: Surge, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(surge_app.payments, "accept", explode)
    response = client.http.post("/payment", body='{"amount": "1.00"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 500
    body = json.loads(response.body)
    assert body["code"] == "internal_error"
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert "hunter2" not in response.body.decode() and "Traceback" not in response.body.decode()

    logged = [json.loads(line) for line in log_lines.getvalue().splitlines() if line.startswith("{")]
    errors = [entry for entry in logged if entry.get("correlation_id") == body["request_id"]]
    assert errors, logged
    assert any("hunter2" in json.dumps(entry) for entry in errors)  # the detail stays in the log


def test_a_client_error_carries_the_same_request_id_in_body_and_header(client: Any) -> None:
    response = client.http.post("/payment", body='{"amount": "x"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert json.loads(response.body)["request_id"] == response.headers["X-Request-Id"]
