"""``./surge reset`` and ``./surge catalogue load`` (functions/checkout/admin.py) on real services."""

from __future__ import annotations

from typing import Any

from functions.checkout.admin import load_catalogue, reset
from functions.checkout.model import CheckoutRequest
from tests.checkout_support import available, mysql_stock, order_body, order_count
from tests.support import queue_depth


def test_catalogue_load_then_reset_empties_redis_queues_and_tables(surge_app: Any) -> None:
    report = load_catalogue(surge_app, hot_stock=10_000, products=25, regular_stock=7)
    assert report == {"products": 26, "hot_product": 100, "hot_stock": 10_000, "regular_stock": 7}
    assert (mysql_stock(surge_app, 100), available(surge_app, 100)) == (10_000, 10_000)
    assert (mysql_stock(surge_app, 1025), available(surge_app, 1025)) == (7, 7)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 1))), request_id="t")
    assert queue_depth(surge_app.settings, "orders") == 1

    done = reset(surge_app)

    assert done["redis_keys_deleted"] > 26 and done["queues_not_purged"] == []
    assert {"products", "orders", "order_items", "payments"} <= set(done["tables"])
    assert queue_depth(surge_app.settings, "orders") == 0
    assert list(surge_app.redis.scan_iter(match=f"{surge_app.settings.redis_prefix}*")) == []
    assert surge_app.orders.products() == [] and order_count(surge_app) == 0


def test_catalogue_load_keeps_units_of_orders_in_flight_reserved(surge_app: Any) -> None:
    load_catalogue(surge_app, hot_stock=10, products=0)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 4))), request_id="t")
    load_catalogue(surge_app, hot_stock=10, products=0)  # reloaded while the order is queued
    assert available(surge_app, 100) == 6
