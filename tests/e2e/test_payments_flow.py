"""The whole local stack: granian gateway → SQS → worker process → MySQL, and statistics."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from tests.support import drain, http, wait_until

pytestmark = pytest.mark.e2e


def stored_rows(settings: Any) -> dict[str, Decimal]:
    from functions.adapters.mysql import MySqlTarget

    conn = MySqlTarget.from_url(settings.mysql_url).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, amount FROM payments")
            return dict(cur.fetchall())
    finally:
        conn.close()


def test_post_202_then_row_in_mysql_and_statistics_match(stack: str, clean: Any) -> None:
    amounts = ["12.50", "0.10", "0.20", "999999.99", "7"]
    ids = []
    for amount in amounts:
        status, headers, body = http("POST", f"{stack}/payment", {"amount": amount})
        assert status == 202, body
        assert headers["location"] == f"/payments/{body['id']}"
        ids.append(body["id"])
        # visible in the statistics within 1 s of the 202
        started = time.monotonic()
        wait_until(
            lambda: http("GET", f"{stack}/statistics")[2]["payments"]["count"] == len(ids),
            timeout=1.0, interval=0.02, message="statistics to count the payment",
        )  # fmt: skip
        assert time.monotonic() - started < 1.0
    drain(clean)
    rows = wait_until(lambda: (r := stored_rows(clean)) and len(r) == len(ids) and r, timeout=20)
    assert set(rows) == set(ids)
    total = sum(Decimal(a) for a in amounts)
    assert sum(rows.values()) == total
    _, _, stats = http("GET", f"{stack}/statistics")
    payments = stats["payments"]
    assert payments["count"] == len(amounts)
    assert Decimal(payments["total"]) == total == Decimal("1000019.79")
    assert payments["min"] == "0.10" and payments["max"] == "999999.99"
    assert payments["average"] == "200003.96"  # 1000019.79 / 5 = 200003.958 → half-even
    status, _, stored = http("GET", f"{stack}/payments/{ids[0]}")
    assert status == 200 and stored["status"] == "stored" and stored["amount"] == "12.50"
    assert stored["accepted_at"] <= stored["stored_at"]


def test_gateway_speaks_api_gateway_errors(stack: str, clean: Any) -> None:
    status, _, body = http("GET", f"{stack}/no-such-route")
    assert status == 403 and body == {"message": "Missing Authentication Token"}
    status, headers, body = http("DELETE", f"{stack}/payment")
    assert status == 405 and headers["allow"] == "POST" and body["code"] == "method_not_allowed"
    status, _, body = http("POST", f"{stack}/payment", b'{"amount": 5}', {"Content-Type": "text/plain"})
    assert status == 415 and body["code"] == "unsupported_media_type"


def test_health_reports_each_dependency(stack: str) -> None:
    status, _, body = http("GET", f"{stack}/health")
    assert status == 200
    assert {name: dep["status"] for name, dep in body["dependencies"].items()} == {
        "redis": "up", "sqs": "up", "mysql": "up",
    }  # fmt: skip
