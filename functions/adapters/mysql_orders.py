"""Orders and the catalogue at rest: MySQL is the truth for stock.

A batch of orders is settled in ONE transaction. The products it touches are locked
first in id order (no deadlock between concurrent batches); then each order is
inserted idempotently by its gateway-minted id and its stock decremented with a guard
(``stock >= qty``). When a guard fails the order rolls back to its savepoint and is
stored ``rejected`` instead: nothing of it is decremented, so MySQL can never oversell
even when Redis was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pymysql.cursors

from functions.adapters.mysql import MySqlConnections
from functions.checkout.model import Order, Product, Settlement
from functions.money import format_cents


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


def _money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _cents(value: Decimal) -> int:
    return int(value * 100)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


class _Short(Exception):
    def __init__(self, reason: str):
        self.reason = reason


class MySqlOrders:
    """Example::

    orders = MySqlOrders(db)
    orders.store([order])   # -> [Settlement(order_id="01J…", status="confirmed")]
    """

    def __init__(self, db: MySqlConnections):
        self._db = db

    def store(self, orders: Sequence[Order]) -> list[Settlement]:
        if not orders:
            return []
        product_ids = sorted({i.product_id for o in orders for i in o.items})
        with self._db.transaction() as cur:
            cur.execute(
                f"SELECT id, stock FROM products WHERE id IN ({','.join(['%s'] * len(product_ids))}) "
                "ORDER BY id FOR UPDATE",
                product_ids,
            )
            stock = {int(pid): int(n) for pid, n in cur.fetchall()}
            return [self._settle(cur, order, stock) for order in orders]

    def _settle(self, cur: pymysql.cursors.Cursor, order: Order, stock: dict[int, int]) -> Settlement:
        cur.execute("SAVEPOINT one_order")
        if not self._insert_order(cur, order, "confirmed", None):
            # stored before (a redelivered message): report what was decided then
            cur.execute("SELECT status, reason FROM orders WHERE id = %s", (order.id,))
            status, reason = cur.fetchone()
            return Settlement(order.id, status, reason)
        try:
            for item in sorted(order.items, key=lambda i: i.product_id):
                # the guard: never below zero, whatever Redis believed
                changed = cur.execute(
                    "UPDATE products SET stock = stock - %s WHERE id = %s AND stock >= %s",
                    (item.quantity, item.product_id, item.quantity),
                )
                if changed != 1:
                    left = stock.get(item.product_id)
                    raise _Short(
                        f"product {item.product_id} is unknown"
                        if left is None
                        else f"out of stock: product {item.product_id} has {left} left, {item.quantity} ordered"
                    )
                stock[item.product_id] -= item.quantity
        except _Short as short:
            cur.execute("ROLLBACK TO SAVEPOINT one_order")
            self._insert_order(cur, order, "rejected", short.reason)
            self._insert_items(cur, order)
            return Settlement(order.id, "rejected", short.reason)
        self._insert_items(cur, order)
        return Settlement(order.id, "confirmed")

    @staticmethod
    def _insert_order(cur: pymysql.cursors.Cursor, order: Order, status: str, reason: str | None) -> bool:
        inserted = cur.execute(
            "INSERT INTO orders (id, status, reason, total, currency, email, phone, address, accepted_at, "
            "request_id, idempotency_key) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            "ON DUPLICATE KEY UPDATE id = id",
            (
                order.id,
                status,
                reason,
                _money(order.total_cents),
                order.currency,
                order.delivery.email,
                order.delivery.phone,
                order.delivery.address,
                _utc(order.accepted_ms),
                order.request_id,
                order.idempotency_key,
            ),
        )
        return inserted == 1

    @staticmethod
    def _insert_items(cur: pymysql.cursors.Cursor, order: Order) -> None:
        cur.executemany(
            "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (%s,%s,%s,%s)",
            [(order.id, i.product_id, i.quantity, _money(i.price_cents)) for i in order.items],
        )

    def get(self, order_id: str) -> dict[str, Any] | None:
        with self._db.transaction() as cur:
            cur.execute(
                "SELECT status, reason, total, currency, accepted_at, stored_at FROM orders WHERE id = %s", (order_id,)
            )
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                "SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = %s ORDER BY product_id",
                (order_id,),
            )
            items = cur.fetchall()
        status, reason, total, currency, accepted_at, stored_at = row
        body: dict[str, Any] = {
            "order_id": order_id,
            "status": status,
            "total": format_cents(_cents(total)),
            "currency": currency,
            "items": [{"product_id": int(p), "quantity": int(q), "price": f"{u:.2f}"} for p, q, u in items],
            "accepted_at": _iso(accepted_at),
            "stored_at": _iso(stored_at),
        }
        if reason:
            body["reason"] = reason
        return body

    def product(self, product_id: int) -> Product | None:
        with self._db.transaction() as cur:
            cur.execute("SELECT id, sku, name, price, stock FROM products WHERE id = %s", (product_id,))
            row = cur.fetchone()
        return None if row is None else _product(row)

    def products(self) -> list[Product]:
        with self._db.transaction() as cur:
            cur.execute("SELECT id, sku, name, price, stock FROM products ORDER BY id")
            rows = cur.fetchall()
        return [_product(row) for row in rows]

    def save_products(self, products: Sequence[Product]) -> int:
        """Insert or overwrite products (catalogue load), 500 rows per statement, one transaction."""
        with self._db.transaction() as cur:
            for start in range(0, len(products), 500):
                chunk = products[start : start + 500]
                cur.execute(
                    "INSERT INTO products (id, sku, name, price, stock) VALUES "
                    + ",".join(["(%s,%s,%s,%s,%s)"] * len(chunk))
                    + " ON DUPLICATE KEY UPDATE sku = VALUES(sku), name = VALUES(name), "
                    "price = VALUES(price), stock = VALUES(stock)",
                    [v for p in chunk for v in (p.id, p.sku, p.name, _money(p.price_cents), p.stock)],
                )
        return len(products)


def _product(row: tuple[Any, ...]) -> Product:
    pid, sku, name, price, stock = row
    return Product(int(pid), sku, name, _cents(price), int(stock))
