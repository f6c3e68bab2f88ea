"""The orders worker against real MySQL, Redis and SQS: the MySQL guard has the last word."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from app import app
from functions.checkout.model import CheckoutRequest, Order
from functions.workers.batch import batch_response
from tests.checkout_support import available, confirmed_units, mysql_stock, order_body, order_count
from tests.support import hot_figures, work_off


def accept(surge_app: Any, *lines: tuple[int, int]) -> dict[str, Any]:
    return surge_app.checkout.checkout(CheckoutRequest.from_body(order_body(*lines)), request_id="t")


def queued_messages(surge_app: Any) -> list[tuple[str, str]]:
    """Take every message off the orders queue (as the mapping would) without handling it."""
    url = surge_app.sqs.url(surge_app.settings.queue_name("orders"))
    out: list[tuple[str, str]] = []
    while True:
        got = surge_app.sqs.client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return out
        for m in got["Messages"]:
            out.append((m["MessageId"], m["Body"]))
            surge_app.sqs.client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def set_mysql_stock(surge_app: Any, product_id: int, stock: int) -> None:
    with surge_app.db.transaction() as cur:
        cur.execute("UPDATE products SET stock = %s WHERE id = %s", (stock, product_id))


def test_guard_rejects_an_order_mysql_cannot_fill_and_gives_the_reservation_back(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=1)
    set_mysql_stock(surge_app, 100, 1)  # Redis drifted: it still believes 10
    order = accept(surge_app, (1001, 2), (100, 3))
    assert available(surge_app, 100) == 7 and available(surge_app, 1001) == 98

    work_off(surge_app, "orders")
    with Client(app) as client:
        status = json.loads(client.http.get(f"/orders/{order['order_id']}").body)
    assert status["status"] == "rejected"
    assert status["reason"] == "out of stock: product 100 has 1 left, 3 ordered"
    # nothing decremented, not even the line that would have fitted
    assert (mysql_stock(surge_app, 100), mysql_stock(surge_app, 1001)) == (1, 100)
    assert order_count(surge_app, "rejected") == 1 and confirmed_units(surge_app, 100) == 0
    assert (available(surge_app, 100), available(surge_app, 1001)) == (10, 100)
    assert surge_app.stock.pending() == {}
    assert hot_figures(surge_app).best_sellers == []


def test_redelivery_stores_once_and_decrements_once(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=0)
    accept(surge_app, (100, 4))
    messages = queued_messages(surge_app)
    assert batch_response(surge_app.checkout.settle_batch(messages)) == {"batchItemFailures": []}
    twice = [("again-1", messages[0][1]), ("again-2", messages[0][1])]
    assert batch_response(surge_app.checkout.settle_batch(twice)) == {"batchItemFailures": []}
    assert order_count(surge_app) == 1
    assert mysql_stock(surge_app, 100) == 6 and available(surge_app, 100) == 6
    assert surge_app.stock.pending() == {}


def test_a_malformed_message_fails_alone(surge_app: Any) -> None:
    surge_app.operator.load_catalogue(hot_stock=10, products=0)
    accept(surge_app, (100, 1))
    accept(surge_app, (100, 2))
    good = queued_messages(surge_app)
    batch = [good[0], ("bad-1", "{not json"), ("bad-2", json.dumps({"type": "order.accepted"})), good[1]]
    result = batch_response(surge_app.checkout.settle_batch(batch))
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}, {"itemIdentifier": "bad-2"}]}
    assert order_count(surge_app, "confirmed") == 2 and mysql_stock(surge_app, 100) == 7


def test_a_batch_sells_exactly_what_mysql_has(surge_app: Any) -> None:
    """Redis let 6 units through for a product MySQL has 4 of: in one batch the first orders
    are confirmed until the guard stops the rest; never a negative stock."""
    surge_app.operator.load_catalogue(hot_stock=6, products=0)
    set_mysql_stock(surge_app, 100, 4)
    for _ in range(3):
        accept(surge_app, (100, 2))
    result = batch_response(surge_app.checkout.settle_batch(queued_messages(surge_app)))
    assert result == {"batchItemFailures": []}
    assert (order_count(surge_app, "confirmed"), order_count(surge_app, "rejected")) == (2, 1)
    assert mysql_stock(surge_app, 100) == 0 and confirmed_units(surge_app, 100) == 4


def test_a_rejected_multi_item_order_leaves_every_product_s_stock_unchanged(surge_app: Any) -> None:
    """The short product comes last in id order, after lines that would fit: the guard must
    look at every line before it takes any, in real MariaDB."""
    surge_app.operator.load_catalogue(hot_stock=10, products=2)
    set_mysql_stock(surge_app, 1002, 1)  # Redis drifted: it still believes 100
    fits = accept(surge_app, (100, 2))
    short = accept(surge_app, (100, 1), (1001, 1), (1002, 3))
    after = accept(surge_app, (100, 1), (1001, 1))
    settled = surge_app.orders.store([Order.from_message(body) for _, body in queued_messages(surge_app)])
    assert [(s.order_id, s.status) for s in settled] == [
        (fits["order_id"], "confirmed"),
        (short["order_id"], "rejected"),
        (after["order_id"], "confirmed"),
    ]
    assert settled[1].reason == "out of stock: product 1002 has 1 left, 3 ordered"
    # only the confirmed orders took stock: 100 lost 3, 1001 lost 1, 1002 nothing
    assert [mysql_stock(surge_app, pid) for pid in (100, 1001, 1002)] == [7, 99, 1]
    assert confirmed_units(surge_app, 100) + mysql_stock(surge_app, 100) == 10
