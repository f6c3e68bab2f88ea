"""``./surge reset`` and ``./surge catalogue load`` (the operator service) on real services."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from functions.bootstrap import build
from functions.checkout.model import CheckoutRequest
from functions.errors import DependencyDown
from functions.runtime.emulator import free_port
from tests.checkout_support import available, mysql_stock, order_body, order_count
from tests.support import queue_depth


def test_catalogue_load_then_reset_empties_redis_queues_and_tables(surge_app: Any) -> None:
    report = surge_app.operator.load_catalogue(hot_stock=10_000, products=25, regular_stock=7)
    assert report == {"products": 26, "hot_product": 100, "hot_stock": 10_000, "regular_stock": 7}
    assert (mysql_stock(surge_app, 100), available(surge_app, 100)) == (10_000, 10_000)
    assert (mysql_stock(surge_app, 1025), available(surge_app, 1025)) == (7, 7)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 1))), request_id="t")
    assert queue_depth(surge_app.settings, "orders") == 1

    done = surge_app.operator.reset()

    assert done["redis_keys_deleted"] > 26 and done["queues_not_purged"] == []
    assert {"products", "orders", "order_items", "payments"} <= set(done["tables"])
    assert queue_depth(surge_app.settings, "orders") == 0
    assert list(surge_app.redis.scan_iter(match=f"{surge_app.settings.redis_prefix}*")) == []
    assert surge_app.orders.products() == [] and order_count(surge_app) == 0


def test_catalogue_load_keeps_units_of_orders_in_flight_reserved(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=0)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 4))), request_id="t")
    surge_app.operator.load_catalogue(hot_stock=10, products=0)  # reloaded while the order is queued
    assert available(surge_app, 100) == 6


@pytest.mark.parametrize(
    ("dependency", "change"),
    [
        ("redis", lambda port: {"redis_url": f"redis://127.0.0.1:{port}/0"}),
        ("mysql", lambda port: {"mysql_url": f"mysql://root@127.0.0.1:{port}/surge_nowhere"}),
        ("sqs", lambda port: {"sqs_endpoint_url": f"http://127.0.0.1:{port}"}),
    ],
)
def test_reset_refuses_before_deleting_anything_when_a_dependency_is_down(
    surge_app: Any, dependency: str, change: Callable[[int], dict[str, str]]
) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=2)
    surge_app.checkout.checkout(CheckoutRequest.from_body(order_body((100, 1))), request_id="t")
    keys_before = len(list(surge_app.redis.scan_iter(match=f"{surge_app.settings.redis_prefix}*")))
    broken = build(dataclasses.replace(surge_app.settings, **change(free_port())))

    with pytest.raises(DependencyDown) as refused:
        broken.operator.reset()

    assert refused.value.dependency == dependency
    assert len(list(surge_app.redis.scan_iter(match=f"{surge_app.settings.redis_prefix}*"))) == keys_before
    assert len(surge_app.orders.products()) == 3 and available(surge_app, 100) == 9
    assert queue_depth(surge_app.settings, "orders") == 1
