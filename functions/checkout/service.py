"""Checkout: reserve in Redis, enqueue to SQS, answer 202. The service layer between routes and adapters."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from functions.batching import Batching, one_by_one
from functions.checkout.model import (
    AlreadyReserved,
    CheckoutRequest,
    Item,
    Missing,
    Order,
    Reservation,
    Reserved,
    Reserving,
    Short,
    held_items,
)
from functions.errors import DependencyDown, NotFound, OutOfStock, ServiceUnavailable
from functions.idempotency import id_for_key
from functions.ids import is_id, new_id
from functions.messages import parse_messages
from functions.money import format_cents
from functions.observability import logger, set_correlation_id
from functions.ports import Idempotency, MessageQueue, OrderStore, StockGate

# A product is missing from Redis at most once per load; a few rounds cover concurrent losses.
MAX_LOAD_ROUNDS = 3
# how long MySQL's "no such product" is believed: a burst of checkouts for an unknown product
# would otherwise take the product's load lock and ask MySQL one request after another
MISSING_PRODUCT_MS = 1000
MISSING_PRODUCTS_KEPT = 4096  # distinct unknown ids remembered at once (each is a few bytes)


class _Checkout(NamedTuple):
    """One checkout on its way to the stock gate and the queue."""

    order_id: str
    request: CheckoutRequest
    now_ms: int
    request_id: str
    key: str | None


# what a checkout comes back from the stock gate and the queue as: the order it became, or why not
_Outcome = Order | Reservation


def _attributes(order: Order) -> dict[str, str]:
    """The message attributes of a queued order: its request id, for the worker's log lines."""
    return {"request_id": order.request_id or ""}


def priced(items: tuple[Item, ...], prices_cents: tuple[int, ...]) -> tuple[Item, ...]:
    return tuple(Item(i.product_id, i.quantity, p) for i, p in zip(items, prices_cents, strict=True))


def _marker_prices(marker: dict[str, str]) -> dict[int, int]:
    """Unit prices kept in the pending marker."""
    return {item.product_id: item.price_cents for item in held_items(marker)}


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
        batching: Batching[_Checkout, _Outcome] | None = None,
    ):
        # concurrent checkouts share one Redis call and one SendMessageBatch (a gateway process)
        self._reserve_and_enqueue: Callable[[_Checkout], _Outcome] = (batching or one_by_one)(self._checkout_many)
        self._stock = stock
        self._queue = queue
        self._orders = orders
        self._idempotency = idempotency
        self._queue_name = queue_name
        self._currency = currency
        self._clock_ms = clock_ms
        self._missing: dict[int, int] = {}  # product id -> when MySQL last said it has none

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
        checkout = _Checkout(order_id, request, now_ms, request_id, key)
        for _ in range(MAX_LOAD_ROUNDS):
            outcome = self._reserve_and_enqueue(checkout)
            if not isinstance(outcome, Missing):
                break
            self._load(outcome.product_id)
        else:
            raise ServiceUnavailable("stock is being reloaded; nothing was reserved", retry_after=1)
        if isinstance(outcome, Short):
            raise OutOfStock(
                f"product {outcome.product_id} has {outcome.available} left",
                product_id=outcome.product_id,
                available=outcome.available,
            )
        if isinstance(outcome, AlreadyReserved):
            return self._replay(order_id, request, request_id, key, outcome)
        assert isinstance(outcome, Order)  # Reserved comes back as the order it became
        logger.debug("order accepted", extra={"order_id": outcome.id})
        return outcome.accepted_body()

    def _checkout_many(self, batch: list[_Checkout]) -> list[_Outcome | Exception]:
        """Reserve for every checkout of the batch in one Redis call, then send the orders that
        got their stock in one SQS call; a reservation whose order SQS refused is released."""
        wanted = [Reserving(c.order_id, c.request.items, self._currency, c.now_ms) for c in batch]
        outcomes: list[_Outcome | Exception] = list(self._stock.reserve_many(wanted))
        orders = {
            n: Order(
                id=c.order_id,
                items=priced(c.request.items, reserved.prices_cents),
                total_cents=reserved.total(c.request.items),
                currency=self._currency,
                delivery=c.request.delivery,
                accepted_ms=c.now_ms,
                request_id=c.request_id,
                idempotency_key=c.key,
            )
            for n, (c, reserved) in enumerate(zip(batch, outcomes, strict=True))
            if isinstance(reserved, Reserved)
        }
        if orders:
            sent = self._queue.send_batch(self._queue_name, [(o.to_message(), _attributes(o)) for o in orders.values()])
            for (n, order), result in zip(orders.items(), sent, strict=True):
                if isinstance(result, Exception):
                    self._not_enqueued(order, result, release=True)
                outcomes[n] = result if isinstance(result, Exception) else order
        return outcomes

    def _load(self, product_id: int) -> None:
        """Bring a product Redis does not know from MySQL, once, under a lock. MySQL's answer
        that there is no such product is believed for ``MISSING_PRODUCT_MS`` in this process."""
        self._known_missing(product_id)
        with self._stock.lock(product_id):
            if self._stock.product(product_id) is not None:
                return  # another request loaded it while we waited
            self._known_missing(product_id)  # another request asked MySQL while we waited
            product = self._orders.product(product_id)
            if product is None:
                if len(self._missing) >= MISSING_PRODUCTS_KEPT:
                    self._missing.clear()
                self._missing[product_id] = self._clock_ms()
                raise _no_product(product_id)
            _, after = self._stock.load(product)
            logger.info(
                "product stock loaded from MySQL",
                extra={"product_id": product_id, "mysql_stock": product.stock, "available": after},
            )

    def _known_missing(self, product_id: int) -> None:
        """Raise NotFound if MySQL said moments ago that there is no such product."""
        since = self._missing.get(product_id)
        if since is not None and self._clock_ms() - since < MISSING_PRODUCT_MS:
            raise _no_product(product_id)

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
            self._queue.send(self._queue_name, order.to_message(), _attributes(order))
        except DependencyDown as exc:
            # a replay's first message may be in SQS already: its reservation stays
            self._not_enqueued(order, exc, release=isinstance(reservation, Reserved))
            raise

    def _not_enqueued(self, order: Order, reason: Exception, *, release: bool) -> None:
        # a retry keeps its reservation: the order it belongs to may still be enqueued by the next retry
        kept = "released" if release else "kept for a retry"
        logger.warning(f"order not enqueued; reservation {kept}", extra={"order_id": order.id, "reason": str(reason)})
        if release:
            try:
                self._stock.release(order, "cancelled")
            except DependencyDown as again:
                # Redis went too: the reconcile step puts stock back from MySQL minus pending
                logger.error("reservation not released", extra={"order_id": order.id, "reason": str(again)})

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

    First the batch is claimed in Redis, so the reservation sweep leaves it alone; an
    order whose reservation the sweep already gave back is stored rejected. A confirmed
    order's units stop being "pending" in Redis; a rejected one (MySQL had less stock
    than Redis believed) gets its reservation back and its reason on the marker.
    Malformed messages fail alone; a MySQL outage fails the batch; a Redis failure after
    the commit fails only the orders it touched, and their redelivery finds them already
    stored and repeats just the Redis step.

    ``messages`` are (message id, body); returns the ids of those that failed (they come back).
    """
    request_ids = request_ids or {}
    parsed, failed = parse_messages(messages, Order.from_message, "order", request_ids)
    refused = _claim(stock, [o.id for _, o in parsed])
    try:
        settlements = orders.store([o for _, o in parsed], refused)
    except DependencyDown as exc:
        logger.warning("order batch not stored; it will come back", extra={"reason": str(exc)})
        return failed + [mid for mid, _ in parsed]
    confirmed: list[tuple[str, Order]] = []
    for (mid, order), settled in zip(parsed, settlements, strict=True):
        if settled.status == "confirmed":
            confirmed.append((mid, order))
            continue
        set_correlation_id(order.request_id or request_ids.get(mid))
        try:
            stock.release(order, "rejected", settled.reason or "rejected")
        except DependencyDown as exc:
            _redis_not_updated(order, exc)
            failed.append(mid)
            continue
        logger.warning("order rejected", extra={"order_id": order.id, "reason": settled.reason})
    try:
        stock.confirm_many([order for _, order in confirmed])  # one round trip for the batch
    except DependencyDown as exc:
        for mid, order in confirmed:
            set_correlation_id(order.request_id or request_ids.get(mid))
            _redis_not_updated(order, exc)
            failed.append(mid)
    else:
        if logger.log_level <= logging.DEBUG:  # the batch line names them at INFO
            for mid, order in confirmed:
                set_correlation_id(order.request_id or request_ids.get(mid))
                logger.debug("order confirmed", extra={"order_id": order.id})
    set_correlation_id(None)
    if parsed:
        logger.info("order batch settled", extra={"size": len(parsed), "order_ids": [o.id for _, o in parsed]})
    return failed


def _no_product(product_id: int) -> NotFound:
    return NotFound(f"no product with id {product_id}", product_id=product_id)


def _redis_not_updated(order: Order, exc: DependencyDown) -> None:
    logger.warning(
        "order stored, Redis not updated; it will come back", extra={"order_id": order.id, "reason": str(exc)}
    )


def _claim(stock: StockGate, order_ids: list[str]) -> dict[str, str]:
    """Take the batch over from the reservation sweep; return the orders it already gave back
    (id -> reason): they are stored rejected, so their units are never sold twice."""
    try:
        claims = stock.claim(order_ids)
    except DependencyDown as exc:
        # no sweep can run without Redis either; MySQL's guard still has the last word
        logger.warning("orders not claimed in Redis; settling on MySQL's guard", extra={"reason": str(exc)})
        return {}
    return {oid: c.reason or "reservation expired" for oid, c in claims.items() if c.status == "rejected"}
