"""POST /checkout, GET /orders/{id}, GET /products/{id} through the real app (Chalice's
LocalGateway) against real Redis, MariaDB and SQS."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

import pytest
from chalice.test import Client

from app import app
from functions.bootstrap import build, use, wire
from functions.checkout.model import CheckoutRequest
from functions.errors import OutOfStock
from functions.money import format_cents
from functions.runtime.emulator import free_port
from tests.checkout_support import DELIVERY, available, confirmed_units, mysql_stock, order_body, order_count
from tests.support import Graph, queue_depth, work_off

JSON = {"Content-Type": "application/json"}


def post(client: Any, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    response = client.http.post("/checkout", headers={**JSON, **(headers or {})}, body=raw)
    return response.status_code, response.headers, json.loads(response.body)


def get(client: Any, path: str) -> tuple[int, Any]:
    response = client.http.get(path)
    return response.status_code, json.loads(response.body)


def orders_stats(client: Any) -> dict[str, Any]:
    return get(client, "/statistics")[1]["orders"]


def test_checkout_reserves_enqueues_answers_202_and_the_worker_confirms(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=5, products=2)
    status, headers, body = post(client, order_body((100, 2), (1001, 1)))
    price_1001 = surge_app.orders.product(1001).price_cents
    assert status == 202
    total = format_cents(2 * 49_900 + price_1001)
    assert body == {"order_id": body["order_id"], "status": "pending", "total": total}
    assert headers["Location"] == f"/orders/{body['order_id']}"
    assert get(client, f"/orders/{body['order_id']}")[1]["status"] == "pending"
    assert get(client, "/products/100")[1] == {
        "id": 100, "sku": "HOT-100", "name": "Flash-sale console", "price": "499.00", "currency": "EUR", "available": 3,
    }  # fmt: skip
    assert queue_depth(surge_app.settings, "orders") == 1

    work_off(surge_app, "orders")
    assert get(client, f"/orders/{body['order_id']}")[1] == {
        "order_id": body["order_id"], "status": "confirmed", "total": body["total"],
    }  # fmt: skip
    assert (mysql_stock(surge_app, 100), mysql_stock(surge_app, 1001)) == (3, 99)
    assert confirmed_units(surge_app, 100) == 2
    assert surge_app.stock.pending() == {}
    # the Redis marker gone, MySQL still answers, with the lines
    surge_app.redis.delete(f"{surge_app.settings.redis_prefix}order:{body['order_id']}")
    stored = get(client, f"/orders/{body['order_id']}")[1]
    assert stored["status"] == "confirmed" and stored["total"] == body["total"]
    assert stored["items"][0] == {"product_id": 100, "quantity": 2, "price": "499.00"}


def test_not_enough_stock_is_409_naming_the_product_and_reserves_nothing(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=2, products=1)
    status, _, body = post(client, order_body((1001, 1), (100, 3)))
    assert status == 409
    assert {k: body[k] for k in ("code", "product_id", "available")} == {
        "code": "out_of_stock", "product_id": 100, "available": 2,
    }  # fmt: skip
    assert available(surge_app, 1001) == 100
    assert queue_depth(surge_app.settings, "orders") == 0
    assert orders_stats(client)["count"] == 0


@pytest.mark.parametrize("lines", [[(424242, 1)], [(1001, 1), (424242, 2)]])
def test_unknown_product_is_404_json_and_reserves_nothing(client: Any, surge_app: Any, lines: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=2, products=1)
    status, _, body = post(client, order_body(*lines))
    assert status == 404
    assert body["code"] == "not_found" and body["product_id"] == 424242 and "request_id" in body
    assert available(surge_app, 1001) == 100
    assert queue_depth(surge_app.settings, "orders") == 0


@pytest.mark.parametrize("path", ["/products/424242", "/products/abc", "/products/0", "/products/99999999999"])
def test_unknown_product_page_is_404(client: Any, surge_app: Any, path: str) -> None:
    status, body = get(client, path)
    assert (status, body["code"]) == (404, "not_found")


def test_unknown_order_is_404(client: Any, surge_app: Any) -> None:
    for order_id in ("01JAAAAAAAAAAAAAAAAAAAAAAA", "nope"):
        status, body = get(client, f"/orders/{order_id}")
        assert (status, body["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**order_body((100, 1)), "delivery": {**DELIVERY, "email": "nobody"}}, "delivery.email"),
        ({**order_body((100, 1)), "delivery": {**DELIVERY, "phone": "12"}}, "delivery.phone"),
        (order_body((100, 11)), "items[0].quantity"),
        (order_body((100, 1), (100, 1)), "items[1].product_id"),
        (order_body(*[(1000 + n, 1) for n in range(21)]), "items"),
        ({"items": [{"product_id": 100, "quantity": 1}]}, "delivery"),
    ],
)
def test_bad_input_is_400_and_reserves_nothing(client: Any, surge_app: Any, body: Any, field: str) -> None:
    surge_app.operator.load_catalogue(hot_stock=5, products=0)
    status, _, answer = post(client, body)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_request", field)
    assert available(surge_app, 100) == 5 and surge_app.stock.pending() == {}
    assert queue_depth(surge_app.settings, "orders") == 0


def test_idempotent_retry_reserves_and_enqueues_once(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=5, products=0)
    key = {"Idempotency-Key": "order-7f3a"}
    first = post(client, order_body((100, 2)), key)
    again = post(client, order_body((100, 2)), key)
    assert first[0] == again[0] == 202
    assert first[2] == again[2]
    assert available(surge_app, 100) == 3
    assert queue_depth(surge_app.settings, "orders") == 1
    other = post(client, order_body((100, 1)), key)
    assert (other[0], other[2]["code"]) == (422, "idempotency_key_reused")
    work_off(surge_app, "orders")
    assert order_count(surge_app) == 1 and mysql_stock(surge_app, 100) == 3


def test_a_retry_after_a_lost_answer_enqueues_again_and_the_worker_stores_once(surge_app: Any) -> None:
    """The first attempt reserved and enqueued, then its answer was lost with the idempotency
    record: the retry must find its reservation by the key's order id, not reserve again."""
    surge_app.operator.load_catalogue(hot_stock=5, products=0)
    request = CheckoutRequest.from_body(order_body((100, 2)))
    first = surge_app.checkout.checkout(request, request_id="r1", idempotency_key="lost-answer")
    surge_app.redis.delete(*surge_app.redis.scan_iter(match=f"{surge_app.settings.redis_prefix}idem:*"))
    again = surge_app.checkout.checkout(request, request_id="r2", idempotency_key="lost-answer")
    assert again == first
    assert available(surge_app, 100) == 3
    assert queue_depth(surge_app.settings, "orders") == 2
    work_off(surge_app, "orders")
    assert order_count(surge_app) == 1 and mysql_stock(surge_app, 100) == 3
    assert surge_app.stock.pending() == {}


def test_queue_down_releases_the_reservation_and_answers_503(clean: Any) -> None:
    healthy = Graph(*wire(clean))
    healthy.operator.load_catalogue(hot_stock=5, products=0)
    use(build(dataclasses.replace(clean, sqs_endpoint_url=f"http://127.0.0.1:{free_port()}")))
    try:
        status, headers, body = post(Client(app), order_body((100, 2)))
    finally:
        use(None)
    assert (status, body["code"], headers["Retry-After"]) == (503, "service_unavailable", "1")
    assert available(healthy, 100) == 5 and healthy.stock.pending() == {}
    now = int(time.time())
    figures = healthy.adapters.statistics.read(now - 60, now, False, 5, 5)
    assert figures.orders == {} and figures.best_sellers == []  # counted on reserve, taken out on release


def test_a_lost_stock_key_is_reloaded_once_from_mysql_minus_pending(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=0)
    assert post(client, order_body((100, 3)))[0] == 202  # pending, not yet in MySQL
    surge_app.redis.delete(surge_app.stock.product_key(100))
    accepted: list[int] = []
    refused: list[int] = []

    def buyer() -> None:
        request = CheckoutRequest.from_body(order_body((100, 1)))
        try:
            surge_app.checkout.checkout(request, request_id="t")
            accepted.append(1)
        except OutOfStock:
            refused.append(1)

    threads = [threading.Thread(target=buyer) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert (len(accepted), len(refused)) == (7, 13)  # 10 in MySQL - 3 pending, no 500, no oversell
    work_off(surge_app, "orders")
    assert mysql_stock(surge_app, 100) == 0 and confirmed_units(surge_app, 100) == 10
    assert order_count(surge_app, "rejected") == 0


def test_orders_statistics(client: Any, surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=3, products=2)
    price_1001 = surge_app.orders.product(1001).price_cents
    assert post(client, order_body((100, 2), (1001, 1)))[0] == 202
    assert post(client, order_body((100, 1)))[0] == 202
    assert post(client, order_body((100, 1)))[0] == 409
    stats = orders_stats(client)
    assert stats["count"] == 2
    assert stats["units"] == 4
    assert stats["revenue"] == format_cents(3 * 49_900 + price_1001)
    assert stats["best_sellers"][:2] == [
        {"product_id": 100, "sold": 3, "available": 0},
        {"product_id": 1001, "sold": 1, "available": 99},
    ]
    assert stats["sold_out"] == {"count": 1, "product_ids": [100]}
