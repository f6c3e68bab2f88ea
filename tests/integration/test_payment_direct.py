"""POST /payment/direct: the load test's comparison path writes MySQL inside the request."""

from __future__ import annotations

import json
from typing import Any

from tests.support import queue_depth

JSON = {"Content-Type": "application/json"}


def post_direct(client: Any, body: Any) -> Any:
    return client.http.post("/payment/direct", headers=JSON, body=json.dumps(body))


def test_direct_payment_is_in_mysql_and_counted_when_answered(client: Any, surge_app: Any) -> None:
    response = post_direct(client, {"amount": "12.50", "currency": "EUR"})

    assert response.status_code == 201
    body = json.loads(response.body)
    assert body["status"] == "stored" and body["amount"] == "12.50"
    assert response.headers["Location"] == f"/payments/{body['id']}"
    assert surge_app.ledger.get(body["id"]).body()["amount"] == "12.50"  # no worker involved
    assert queue_depth(surge_app.settings, "payments") == 0
    assert surge_app.statistics.snapshot(60, "EUR")["payments"]["count"] == 1


def test_direct_path_validates_like_the_queued_one_and_writes_nothing(client: Any, surge_app: Any) -> None:
    response = post_direct(client, {"amount": "12.505"})

    assert response.status_code == 400
    assert json.loads(response.body)["field"] == "amount"
    with surge_app.db.transaction() as cur:
        cur.execute("SELECT COUNT(*) FROM payments")
        assert cur.fetchone()[0] == 0
    assert surge_app.statistics.snapshot(60, "EUR")["payments"]["count"] == 0
