"""In-memory fakes of the ports (functions/adapters/ports.py) for unit tests.

They keep the rules the real adapters promise (an order id is settled once, the guard
never goes below zero, a reservation is given back once) and can fail transiently on
demand: ``fail(n, "confirm", "release")`` makes the next ``n`` calls of those methods
(of every method when none is named) raise ``DependencyDown``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from functions.checkout.model import (
    AlreadyReserved,
    Claim,
    Delivery,
    Held,
    Item,
    Missing,
    Order,
    Product,
    Reservation,
    Reserved,
    Settlement,
    Short,
)
from functions.errors import DependencyDown
from functions.ids import new_id


class _Flaky:
    """Transient failures on demand, then the real thing; ``calls`` counts attempts per method."""

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self._fail_next = 0
        self._failing: set[str] = set()
        self.calls: dict[str, int] = {}

    def fail(self, times: int, *methods: str) -> None:
        self._fail_next, self._failing = times, set(methods)

    def _maybe_fail(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        if self._fail_next > 0 and (not self._failing or method in self._failing):
            self._fail_next -= 1
            raise DependencyDown(self.dependency, ConnectionError(f"{self.dependency} is down (fake)"))


class FakeOrderStore(_Flaky):
    """Orders and products in dicts, settled like ``MySqlOrders``: all items or none."""

    def __init__(self, products: Sequence[Product] = ()) -> None:
        super().__init__("mysql")
        self.stock: dict[int, int] = {p.id: p.stock for p in products}
        self.catalogue: dict[int, Product] = {p.id: p for p in products}
        self.settled: dict[str, Settlement] = {}
        self.stored: list[str] = []  # order ids in the order they were first stored

    def store(self, orders: Sequence[Order], refused: Mapping[str, str] | None = None) -> list[Settlement]:
        self._maybe_fail("store")
        refused = refused or {}
        stock = dict(self.stock)
        settled = dict(self.settled)
        for order in orders:
            if order.id in settled:
                continue
            short = next((i for i in order.items if stock.get(i.product_id, 0) < i.quantity), None)
            if order.id in refused:  # the sweep gave its units back: nothing taken
                settled[order.id] = Settlement(order.id, "rejected", refused[order.id])
            elif short is not None:
                settled[order.id] = Settlement(order.id, "rejected", f"out of stock: product {short.product_id}")
            else:
                for item in order.items:
                    stock[item.product_id] -= item.quantity
                settled[order.id] = Settlement(order.id, "confirmed")
            self.stored.append(order.id)
        self.stock, self.settled = stock, settled  # one transaction: all or nothing
        return [settled[o.id] for o in orders]

    def existing(self, order_ids: Sequence[str]) -> set[str]:
        self._maybe_fail("existing")
        return {oid for oid in order_ids if oid in self.settled}

    def get(self, order_id: str) -> dict[str, Any] | None:
        settled = self.settled.get(order_id)
        return None if settled is None else {"order_id": order_id, "status": settled.status}

    def product(self, product_id: int) -> Product | None:
        product = self.catalogue.get(product_id)
        if product is None:
            return None
        return Product(product.id, product.sku, product.name, product.price_cents, self.stock[product.id])

    def products(self) -> list[Product]:
        return [p for pid in sorted(self.catalogue) if (p := self.product(pid)) is not None]

    def save_products(self, products: Sequence[Product]) -> int:
        for p in products:
            self.catalogue[p.id] = p
            self.stock[p.id] = p.stock
        return len(products)


class FakeStockGate(_Flaky):
    """Redis stock in dicts: available per product, pending per product, order markers."""

    def __init__(self, products: Sequence[Product] = ()) -> None:
        super().__init__("redis")
        self.products: dict[int, Product] = {p.id: p for p in products}
        self.available_units: dict[int, int] = {p.id: p.stock for p in products}
        self.pending_units: dict[int, int] = {}
        self.markers: dict[str, dict[str, str]] = {}
        self.reservations: dict[str, Order] = {}  # the index by time, while pending

    def reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        self._maybe_fail("reserve")
        if order_id in self.markers:
            marker = self.markers[order_id]
            return AlreadyReserved(marker["status"], int(marker["total_cents"]))
        for item in items:
            if item.product_id not in self.available_units:
                return Missing(item.product_id)
        for item in items:
            if self.available_units[item.product_id] < item.quantity:
                return Short(item.product_id, self.available_units[item.product_id])
        prices = tuple(self.products[i.product_id].price_cents for i in items)
        for item in items:
            self.available_units[item.product_id] -= item.quantity
            self.pending_units[item.product_id] = self.pending_units.get(item.product_id, 0) + item.quantity
        total = sum(i.quantity * p for i, p in zip(items, prices, strict=True))
        self.markers[order_id] = {"status": "pending", "total_cents": str(total), "accepted_ms": str(accepted_ms)}
        self.reservations[order_id] = Order(
            order_id,
            tuple(Item(i.product_id, i.quantity, p) for i, p in zip(items, prices, strict=True)),
            total,
            currency,
            Delivery("", "", ""),
            accepted_ms,
        )
        return Reserved(prices)

    def _unpend(self, order: Order) -> None:
        for item in order.items:
            left = self.pending_units.get(item.product_id, 0) - item.quantity
            if left > 0:
                self.pending_units[item.product_id] = left
            else:
                self.pending_units.pop(item.product_id, None)

    def release(self, order: Order, outcome: str, reason: str = "", accepted_before_ms: int = 0) -> bool:
        self._maybe_fail("release")
        marker = self.markers.get(order.id)
        if marker is None or marker["status"] != "pending":
            if marker is not None and outcome == "rejected" and marker["status"] != "confirmed":
                marker.update(status="rejected", reason=reason)
            self.reservations.pop(order.id, None)
            return False
        if outcome == "expired" and ("claimed" in marker or int(marker["accepted_ms"]) >= accepted_before_ms):
            return False
        for item in order.items:
            if item.product_id in self.available_units:
                self.available_units[item.product_id] += item.quantity
        self._unpend(order)
        self.reservations.pop(order.id, None)
        if outcome == "cancelled":
            del self.markers[order.id]
        else:
            marker.update(status="rejected", reason=reason)
        return True

    def confirm(self, order: Order) -> None:
        self._maybe_fail("confirm")
        marker = self.markers.setdefault(order.id, {"status": "confirmed", "total_cents": str(order.total_cents)})
        if marker["status"] == "pending":
            self._unpend(order)
        marker["status"] = "confirmed"
        marker.pop("reason", None)
        self.reservations.pop(order.id, None)

    def claim(self, order_ids: Sequence[str]) -> dict[str, Claim]:
        self._maybe_fail("claim")
        out: dict[str, Claim] = {}
        for oid in order_ids:
            marker = self.markers.get(oid)
            if marker is None:
                continue
            if marker["status"] == "pending":
                marker["claimed"] = "1"
            out[oid] = Claim(marker["status"], marker.get("reason"))
        return out

    def stale(self, accepted_before_ms: int, limit: int) -> list[Held]:
        self._maybe_fail("stale")
        old = sorted(
            (o for o in self.reservations.values() if o.accepted_ms < accepted_before_ms), key=lambda o: o.accepted_ms
        )
        out = []
        for order in old[:limit]:
            marker = self.markers.get(order.id)
            pending = marker is not None and marker["status"] == "pending"
            out.append(Held(order.id, pending and "claimed" in marker, order if pending else None))  # type: ignore[operator]
        return out

    def forget(self, order_ids: Sequence[str]) -> None:
        for oid in order_ids:
            self.reservations.pop(oid, None)

    def marker(self, order_id: str) -> dict[str, str] | None:
        self._maybe_fail("marker")
        marker = self.markers.get(order_id)
        return None if marker is None else dict(marker)

    def product(self, product_id: int) -> dict[str, str] | None:
        product = self.products.get(product_id)
        if product is None or product_id not in self.available_units:
            return None
        return {
            "available": str(self.available_units[product_id]),
            "price_cents": str(product.price_cents),
            "sku": product.sku,
            "name": product.name,
        }

    @contextmanager
    def lock(self, product_id: int) -> Iterator[None]:
        yield

    def load(self, product: Product, force: bool = False) -> tuple[int | None, int]:
        return self.load_many([product], force)[0]

    def load_many(self, products: Sequence[Product], force: bool = False) -> list[tuple[int | None, int]]:
        out: list[tuple[int | None, int]] = []
        for p in products:
            before = self.available_units.get(p.id)
            if before is None or force:
                self.products[p.id] = p
                self.available_units[p.id] = max(0, p.stock - self.pending_units.get(p.id, 0))
            out.append((before, self.available_units[p.id]))
        return out

    def available(self, product_ids: Sequence[int]) -> dict[int, int | None]:
        return {pid: self.available_units.get(pid) for pid in product_ids}

    def pending(self) -> dict[int, int]:
        return dict(self.pending_units)

    def window(self, first_second: int, last_second: int) -> dict[str, list[int]]:
        return {}

    def best_sellers(self, limit: int) -> list[tuple[int, int, int | None]]:
        return []

    def sold_out(self, limit: int) -> tuple[int, list[int]]:
        ids = sorted(pid for pid, n in self.available_units.items() if n == 0)
        return len(ids), ids[:limit]


def reserve_at(stock: FakeStockGate, accepted_ms: int, *lines: tuple[int, int]) -> tuple[str, str]:
    """Reserve as the gateway does; return the queued order as (message id "m-<order id>", body)."""
    order_id = new_id(accepted_ms)
    items = tuple(Item(pid, qty) for pid, qty in lines)
    reserved = stock.reserve(order_id, items, "EUR", accepted_ms)
    assert isinstance(reserved, Reserved), reserved
    priced = tuple(Item(i.product_id, i.quantity, p) for i, p in zip(items, reserved.prices_cents, strict=True))
    delivery = Delivery("1 Main St, Kyiv", "+380 44 123 4567", "a@example.com")
    order = Order(order_id, priced, reserved.total(items), "EUR", delivery, accepted_ms)
    return f"m-{order_id}", order.to_message()
