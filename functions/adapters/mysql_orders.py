"""Orders and the catalogue at rest: MySQL is the truth for stock.

A batch of orders is settled in ONE transaction with one multi-row statement per table.
The products it touches are locked first in id order (no deadlock between concurrent
batches) and the batch's order ids are read with a locking read, so an order stored
before (a redelivery) keeps what was decided then. Each new order is decided against
the locked stock in message order: all its items or none (``stock >= qty``), else it
is stored ``rejected`` and nothing of it is decremented; MySQL can never oversell even
when Redis was wrong, and the CHECK (stock >= 0) backs the decision up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pymysql.cursors

from functions.adapters.mysql import MySqlConnections, placeholders
from functions.checkout.model import Item, Order, Product, Settlement, StoredOrder


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


def _money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _cents(value: Decimal) -> int:
    return int(value * 100)


class MySqlOrders:
    """Orders and the catalogue in MySQL; ``db`` is a live ``MySqlConnections``.

    >>> from functions.checkout.model import Delivery
    >>> orders = MySqlOrders(db)
    >>> _ = orders.save_products([Product(100, "HOT-100", "Console", 49_900, 10)])
    >>> order = Order("01KD0000000000000000000001", (Item(100, 2, 49_900),), 99_800, "EUR",
    ...               Delivery("1 Main St", "+3312345678", "a@example.com"), 1_767_225_600_000)
    >>> orders.store([order])
    [Settlement(order_id='01KD0000000000000000000001', status='confirmed', reason=None)]
    >>> orders.product(100).stock
    8
    """

    def __init__(self, db: MySqlConnections):
        self._db = db

    def store(self, orders: Sequence[Order]) -> list[Settlement]:
        """Settle a batch: one multi-row statement per table, in one transaction."""
        if not orders:
            return []
        product_ids = sorted({i.product_id for o in orders for i in o.items})
        order_ids = list(dict.fromkeys(o.id for o in orders))
        with self._db.transaction() as cur:
            cur.execute(
                f"SELECT id, stock FROM products WHERE id IN ({placeholders(len(product_ids))}) ORDER BY id FOR UPDATE",
                product_ids,
            )
            stock = {int(pid): int(n) for pid, n in cur.fetchall()}
            # a locking read sees what a concurrent batch committed while we waited for the products
            cur.execute(
                f"SELECT id, status, reason FROM orders WHERE id IN ({placeholders(len(order_ids))}) FOR UPDATE",
                order_ids,
            )
            settled = {oid: Settlement(oid, status, reason) for oid, status, reason in cur.fetchall()}
            before = dict(stock)
            new: list[tuple[Order, Settlement]] = []
            for order in orders:
                if order.id not in settled:  # else stored before (a redelivered message): what was decided then
                    settled[order.id] = self._decide(order, stock)
                    new.append((order, settled[order.id]))
            self._insert(cur, new, before, stock)
        return [settled[o.id] for o in orders]

    @staticmethod
    def _decide(order: Order, stock: dict[int, int]) -> Settlement:
        """All items or none; decrements ``stock`` (locked rows) when confirmed."""
        for item in sorted(order.items, key=lambda i: i.product_id):
            left = stock.get(item.product_id)
            if left is None:
                return Settlement(order.id, "rejected", f"product {item.product_id} is unknown")
            if left < item.quantity:  # the guard: never below zero, whatever Redis believed
                return Settlement(
                    order.id,
                    "rejected",
                    f"out of stock: product {item.product_id} has {left} left, {item.quantity} ordered",
                )
        for item in order.items:
            stock[item.product_id] -= item.quantity
        return Settlement(order.id, "confirmed")

    @staticmethod
    def _insert(
        cur: pymysql.cursors.Cursor,
        new: list[tuple[Order, Settlement]],
        before: dict[int, int],
        after: dict[int, int],
    ) -> None:
        if not new:
            return
        cur.execute(
            "INSERT INTO orders (id, status, reason, total, currency, email, phone, address, accepted_at, "
            f"request_id, idempotency_key) VALUES {placeholders(len(new), '(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)')}",
            [
                value
                for order, settlement in new
                for value in (
                    order.id,
                    settlement.status,
                    settlement.reason,
                    _money(order.total_cents),
                    order.currency,
                    order.delivery.email,
                    order.delivery.phone,
                    order.delivery.address,
                    _utc(order.accepted_ms),
                    order.request_id,
                    order.idempotency_key,
                )
            ],
        )
        items = [(o.id, i.product_id, i.quantity, _money(i.price_cents)) for o, _ in new for i in o.items]
        cur.execute(
            f"INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES "
            f"{placeholders(len(items), '(%s,%s,%s,%s)')}",
            [value for item in items for value in item],
        )
        sold = {pid: before[pid] - n for pid, n in after.items() if before[pid] != n}
        if sold:
            # the CHECK (stock >= 0) on products backs the decision up: a wrong one fails the batch
            cur.execute(
                f"UPDATE products SET stock = stock - CASE id {placeholders(len(sold), 'WHEN %s THEN %s', ' ')} END "
                f"WHERE id IN ({placeholders(len(sold))})",
                [v for pid, n in sold.items() for v in (pid, n)] + list(sold),
            )

    def get(self, order_id: str) -> StoredOrder | None:
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
        return StoredOrder(
            order_id=order_id,
            status=status,
            reason=reason,
            total_cents=_cents(total),
            currency=currency,
            items=tuple(Item(int(p), int(q), _cents(u)) for p, q, u in items),
            accepted_at=accepted_at,
            stored_at=stored_at,
        )

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
                    + placeholders(len(chunk), "(%s,%s,%s,%s,%s)")
                    + " ON DUPLICATE KEY UPDATE sku = VALUES(sku), name = VALUES(name), "
                    "price = VALUES(price), stock = VALUES(stock)",
                    [v for p in chunk for v in (p.id, p.sku, p.name, _money(p.price_cents), p.stock)],
                )
        return len(products)


def _product(row: tuple[Any, ...]) -> Product:
    pid, sku, name, price, stock = row
    return Product(int(pid), sku, name, _cents(price), int(stock))
