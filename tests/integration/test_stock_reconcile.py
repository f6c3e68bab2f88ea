"""The scheduled reconcile puts Redis stock back to MySQL minus pending, and says so."""

from __future__ import annotations

import json
from typing import Any

from functions.checkout.model import CheckoutRequest
from tests.checkout_support import available, order_body
from tests.support import work_off


def run_scheduled_reconcile(client: Any) -> None:
    """Invoke the ``@app.schedule`` function the way EventBridge would."""
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/reconcile"]
    )
    client.lambda_.invoke("reconcile_every_minute", event)


def test_drift_is_corrected_by_the_scheduled_function_and_reported(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=50, products=3)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 5))), request_id="t")
    work_off(surge_app, "orders")  # MySQL 45, nothing pending
    redis_key = surge_app.stock.product_key
    surge_app.redis.hset(redis_key(100), "available", 57)  # Redis promises stock that does not exist
    surge_app.redis.hset(redis_key(1001), "available", 3)  # and hides stock that does
    surge_app.redis.delete(redis_key(1002))  # and lost one product altogether

    run_scheduled_reconcile(client)

    assert [available(surge_app, p) for p in (100, 1001, 1002, 1003)] == [45, 100, 100, 100]
    report = json.loads(client.http.get("/statistics").body)["orders"]["stock_reconcile"]
    assert report["corrected"] == 2 and report["restored"] == 1 and report["drift_units"] == 12 + 97
    assert {d["product_id"]: (d["redis"], d["expected"]) for d in report["drift"]} == {100: (57, 45), 1001: (3, 100)}


def test_while_orders_are_in_flight_drift_is_only_reported(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=50, products=0)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 5))), request_id="t")  # queued
    surge_app.redis.hset(surge_app.stock.product_key(100), "available", 40)  # 50 - 5 pending = 45 expected
    run_scheduled_reconcile(client)
    report = json.loads(client.http.get("/statistics").body)["orders"]["stock_reconcile"]
    assert (report["deferred"], report["corrected"], report["queue_drained"]) == (1, 0, False)
    assert available(surge_app, 100) == 40
    work_off(surge_app, "orders")
    run_scheduled_reconcile(client)
    assert available(surge_app, 100) == 45
