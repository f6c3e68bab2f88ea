"""Checkout: reserve in Redis, enqueue to SQS, answer 202. The service layer between routes and adapters."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from functions.checkout.model import AlreadyReserved, CheckoutRequest, Item, Missing, Order, Reserved, Short
from functions.errors import DependencyDown, NotFound, OutOfStock, ServiceUnavailable
from functions.idempotency import id_for_key
from functions.ids import is_id, new_id
from functions.messages import parse_messages
from functions.money import format_cents
from functions.observability import logger, set_correlation_id
from functions.ports import Idempotency, MessageQueue, OrderStore, StockGate

# A product is missing from Redis at most once per load; a few rounds cover concurrent losses.
MAX_LOAD_ROUNDS = 3


def priced(items: tuple[Item, ...], prices_cents: tuple[int, ...]) -> tuple[Item, ...]:
    return tuple(Item(i.product_id, i.quantity, p) for i, p in zip(items, prices_cents, strict=True))


def _marker_prices(marker: dict[str, str]) -> dict[int, int]:
    """Unit prices kept in the pending marker: ``items`` is "pid:qty:price,…"."""
    prices = {}
    for line in filter(None, marker.get("items", "").split(",")):
        pid, _qty, price = line.split(":")
        prices[int(pid)] = int(price)
    return prices


class CheckoutService:
    """Reserve stock, queue the order, settle it from the queue, tell its status.

    On in-memory fakes of its ports (``tests/fakes.py``):

    >>> from functions.checkout.model import Product
    >>> from tests.fakes import FakeIdempotency, FakeOrderStore, FakeQueue, FakeStockGate
    >>> stock, queue, orders = FakeStockGate(), FakeQueue(), FakeOrderStore()
    >>> orders.save_products([Product(100, "HOT-100", "Console", 49_900, 10)])
    1
    >>> service = CheckoutService(stock, queue, orders, FakeIdempotency(), "surge-orders", "EUR")
    >>> body = {"items": [{"product_id": 100, "quantity": 2}],
    ...         "delivery": {"address": "1 Main St", "phone": "+3312345678", "email": "a@example.com"}}
    >>> accepted = service.checkout(CheckoutRequest.from_body(body), request_id="r1")
    >>> accepted["status"], accepted["total"], stock.available([100])
    ('pending', '998.00', {100: 8})
    >>> service.settle_batch([("m1", queue.bodies("surge-orders")[0])])  # the worker's step
    []
    >>> service.status(accepted["order_id"])["status"], orders.product(100).stock
    ('confirmed', 8)
    """

    def __init__(
        self,
        stock: StockGate,
        queue: MessageQueue,
        orders: OrderStore,
        idempotency: Idempotency,
        queue_name: str,
        currency: str,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ):
        self._stock = stock
        self._queue = queue
        self._orders = orders
        self._idempotency = idempotency
        self._queue_name = queue_name
        self._currency = currency
        self._clock_ms = clock_ms

    def checkout(
        self, request: CheckoutRequest, *, request_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """202 body once the stock is reserved and the order is in SQS; 409/404/503 otherwise."""
        return self._idempotency.run_keyed(
            "checkout", idempotency_key, request.fingerprint(), lambda key: self._checkout(request, request_id, key)
        )

    def _checkout(self, request: CheckoutRequest, request_id: str, key: str | None) -> dict[str, Any]:
        now_ms = self._clock_ms()
        # an id derived from the key: a retry after an ambiguous failure finds its own reservation
        order_id = id_for_key("checkout", key) if key else new_id(now_ms)
        reservation = self._reserve(order_id, request, now_ms)
        if isinstance(reservation, Short):
            raise OutOfStock(
                f"product {reservation.product_id} has {reservation.available} left",
                product_id=reservation.product_id,
                available=reservation.available,
            )
        if isinstance(reservation, AlreadyReserved):
            return self._replay(order_id, request, request_id, key, reservation)
        order = Order(
            id=order_id,
            items=priced(request.items, reservation.prices_cents),
            total_cents=reservation.total(request.items),
            currency=self._currency,
            delivery=request.delivery,
            accepted_ms=now_ms,
            request_id=request_id,
            idempotency_key=key,
        )
        self._enqueue(order, reservation)
        logger.debug("order accepted", extra={"order_id": order.id})
        return order.accepted_body()

    def _reserve(self, order_id: str, request: CheckoutRequest, now_ms: int) -> Reserved | Short | AlreadyReserved:
        for _ in range(MAX_LOAD_ROUNDS):
            reservation = self._stock.reserve(order_id, request.items, self._currency, now_ms)
            if not isinstance(reservation, Missing):
                return reservation
            self._load(reservation.product_id)
        raise ServiceUnavailable("stock is being reloaded; nothing was reserved", retry_after=1)

    def _load(self, product_id: int) -> None:
        """Bring a product Redis does not know from MySQL, once, under a lock."""
        with self._stock.lock(product_id):
            if self._stock.product(product_id) is not None:
                return  # another request loaded it while we waited
            product = self._orders.product(product_id)
            if product is None:
                raise NotFound(f"no product with id {product_id}", product_id=product_id)
            _, after = self._stock.load(product)
            logger.info(
                "product stock loaded from MySQL",
                extra={"product_id": product_id, "mysql_stock": product.stock, "available": after},
            )

    def _replay(
        self, order_id: str, request: CheckoutRequest, request_id: str, key: str | None, held: AlreadyReserved
    ) -> dict[str, Any]:
        """A retry whose first attempt reserved, then failed before answering: enqueue again
        (the worker stores an order id once) unless the order is settled already."""
        if held.status != "pending":
            return {"order_id": order_id, "status": held.status, "total": format_cents(held.total_cents)}
        marker = self._stock.marker(order_id) or {}
        prices = _marker_prices(marker)
        if any(i.product_id not in prices for i in request.items):
            raise ServiceUnavailable("order is being settled; retry", retry_after=1)
        order = Order(
            id=order_id,
            items=priced(request.items, tuple(prices[i.product_id] for i in request.items)),
            total_cents=held.total_cents,
            currency=marker.get("currency", self._currency),
            delivery=request.delivery,
            accepted_ms=int(marker.get("accepted_ms", self._clock_ms())),
            request_id=request_id,
            idempotency_key=key,
        )
        self._enqueue(order, held)
        return order.accepted_body()

    def _enqueue(self, order: Order, reservation: Reserved | AlreadyReserved) -> None:
        try:
            self._queue.send(self._queue_name, order.to_message(), {"request_id": order.request_id or ""})
        except DependencyDown as exc:
            logger.warning("order not enqueued; reservation released", extra={"reason": str(exc)})
            if isinstance(reservation, Reserved):  # a replay's first message may be in SQS already
                try:
                    self._stock.release(order, "cancelled")
                except DependencyDown as again:
                    # Redis went too: the reconcile step puts stock back from MySQL minus pending
                    logger.error("reservation not released", extra={"order_id": order.id, "reason": str(again)})
            raise

    def settle_batch(
        self, messages: Sequence[tuple[str, str]], request_ids: Mapping[str, str] | None = None
    ) -> list[str]:
        """The worker's step: settle queued orders; the message ids that must come back."""
        return settle_batch(self._orders, self._stock, messages, request_ids)

    def status(self, order_id: str) -> dict[str, Any]:
        """From the Redis marker (pending/confirmed/rejected); from MySQL when Redis lost it; else 404."""
        if not is_id(order_id):
            raise NotFound(f"no order with id {order_id[:40]!r}")
        try:
            marker = self._stock.marker(order_id)
        except DependencyDown:
            marker = None  # MySQL still knows every settled order
        if marker is not None:
            body = {"order_id": order_id, "status": marker["status"], "total": format_cents(int(marker["total_cents"]))}
            if marker.get("reason"):
                body["reason"] = marker["reason"]
            return body
        stored = self._orders.get(order_id)
        if stored is None:
            raise NotFound(f"no order with id {order_id!r}")
        return stored.body()

    def product(self, product_id: int) -> dict[str, Any]:
        """Price and live availability from Redis; loaded from MySQL when Redis lost it."""
        cached = self._stock.product(product_id)
        if cached is None:
            self._load(product_id)
            cached = self._stock.product(product_id)
        if cached is None:
            raise ServiceUnavailable("stock is being reloaded", retry_after=1)
        return {
            "id": product_id,
            "sku": cached["sku"],
            "name": cached["name"],
            "price": format_cents(int(cached["price_cents"])),
            "currency": self._currency,
            "available": int(cached["available"]),
        }


def settle_batch(
    orders: OrderStore,
    stock: StockGate,
    messages: Sequence[tuple[str, str]],
    request_ids: Mapping[str, str] | None = None,
) -> list[str]:
    """Settle a batch of orders: MySQL decides (guarded stock, one transaction), Redis follows.

    A confirmed order's units stop being "pending" in Redis; a rejected one (MySQL had
    less stock than Redis believed) gets its reservation back and its reason on the
    marker. Malformed messages fail alone; a MySQL outage fails the batch; a Redis
    failure after the commit fails only the orders it touched, and their redelivery finds
    them already stored and repeats just the Redis step.

    ``messages`` are (message id, body); returns the ids of those that failed (they come back).
    """
    request_ids = request_ids or {}
    parsed, failed = parse_messages(messages, Order.from_message, "order", request_ids)
    try:
        settlements = orders.store([o for _, o in parsed])
    except DependencyDown as exc:
        logger.warning("order batch not stored; it will come back", extra={"reason": str(exc)})
        return failed + [mid for mid, _ in parsed]
    for (mid, order), settled in zip(parsed, settlements, strict=True):
        set_correlation_id(order.request_id or request_ids.get(mid))
        try:
            if settled.status == "confirmed":
                stock.confirm(order)
            else:
                stock.release(order, "rejected", settled.reason or "rejected")
        except DependencyDown as exc:
            logger.warning(
                "order stored, Redis not updated; it will come back", extra={"order_id": order.id, "reason": str(exc)}
            )
            failed.append(mid)
            continue
        log = logger.info if settled.status == "confirmed" else logger.warning
        log(f"order {settled.status}", extra={"order_id": order.id, "reason": settled.reason})
    set_correlation_id(None)
    return failed
