"""In-memory fakes of every port in ``functions/ports.py``, for unit tests of the services.

Each fake keeps its state in plain attributes a test can read and set, and behaves like
its adapter where the services depend on it (idempotent stores, all-or-none stock,
markers). ``down = True`` makes every call raise ``DependencyDown``, as the adapters do
when their dependency is unreachable. The assignments at the end make the type checker
prove that each fake implements its Protocol; a test that needs another failure mode
subclasses the fake (e.g. ``class FlakyOrderStore(FakeOrderStore)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    Reserving,
    Settlement,
    Short,
    StoredOrder,
)
from functions.errors import DependencyDown, IdempotencyKeyReused, RequestInProgress
from functions.idempotency import check_key
from functions.payments.model import Payment, StoredPayment
from functions.ports import (
    DeadLetters,
    Decision,
    Idempotency,
    Keyspace,
    MessageQueue,
    MetricStore,
    OrderStore,
    PaymentCounters,
    PaymentLedger,
    RateLimiter,
    ReconcileLog,
    StockGate,
    Tables,
)
from functions.statistics.model import Aggregate, SecondBucket, StatisticsRead


def _wire(text: str) -> str:
    """A string as a client library decodes it from Redis or MySQL: equal to a literal, never
    the same object (code comparing statuses with ``is`` would pass on the fakes otherwise)."""
    return "".join(list(text))


def _utc(ms: int) -> datetime:
    """Naive UTC, as MySQL gives times back."""
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


class _Dependency:
    """``down``: every call raises ``DependencyDown`` (transient) naming ``dependency``."""

    dependency = "fake"

    def __init__(self) -> None:
        self.down = False

    def _reach(self) -> None:
        if self.down:
            raise DependencyDown(self.dependency, ConnectionError(f"{self.dependency} is down"))


@dataclass
class Sent:
    queue: str
    body: str
    attributes: dict[str, str]


class FakeQueue(_Dependency):
    """Messages sent, per queue; ``in_flight`` sets the in-flight count ``depth`` reports;
    ``unreachable`` queues fail alone; an entry of a batch that ``refuses(body, attributes)``
    fails alone (SQS's per-entry ``Failed``); ``batch_sizes`` records each batch call."""

    dependency = "sqs"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.in_flight: dict[str, int] = {}
        self.unreachable: set[str] = set()
        self.depth_reads = 0
        self.refuses: Callable[[str, dict[str, str]], bool] = lambda body, attributes: False
        self.batch_sizes: list[int] = []

    def send(self, queue: str, body: str, attributes: dict[str, str] | None = None) -> str:
        self._reach()
        self.sent.append(Sent(queue, body, dict(attributes or {})))
        return f"m{len(self.sent)}"

    def send_batch(self, queue: str, entries: list[tuple[str, dict[str, str] | None]]) -> list[str | Exception]:
        self.batch_sizes.append(len(entries))
        try:
            self._reach()
        except DependencyDown as exc:  # SQS answers a failed batch per entry
            return [exc] * len(entries)
        return [
            DependencyDown("sqs", RuntimeError("InternalError"))
            if self.refuses(body, attributes or {})
            else self.send(queue, body, attributes)
            for body, attributes in entries
        ]

    def depth(self, queue: str) -> dict[str, int]:
        self._reach()
        self.depth_reads += 1
        if queue in self.unreachable:
            raise DependencyDown("sqs", ConnectionError(f"{queue} unreachable"))
        return {"visible": len(self.bodies(queue)), "in_flight": self.in_flight.get(queue, 0)}

    def bodies(self, queue: str) -> list[str]:
        return [m.body for m in self.sent if m.queue == queue]


class FakePaymentCounters(_Dependency):
    """Markers and per-second aggregates by (currency, second), as the Redis counters keep them."""

    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.markers: dict[str, dict[str, Any]] = {}
        self.seconds: dict[tuple[str, int], Aggregate] = {}
        self.metric_fields: dict[str, float] = {}
        self.record_calls = 0  # round trips: one per record or record_many

    def add(self, currency: str, second: int, cents: int) -> None:
        """Count one payment of ``cents`` in ``second`` (statistics only, no marker)."""
        key = (currency, second)
        self.seconds[key] = self.seconds.get(key, Aggregate()).merge(Aggregate(1, cents, cents, cents))

    def record(self, payment: Payment, metrics: Mapping[str, float] | None = None) -> None:
        self.record_many([payment], metrics)

    def record_many(self, payments: Sequence[Payment], metrics: Mapping[str, float] | None = None) -> None:
        self._reach()
        self.record_calls += 1
        for payment in payments:
            self._count(payment)
        for name, value in (metrics or {}).items():
            self.metric_fields[name] = self.metric_fields.get(name, 0) + value

    def _count(self, payment: Payment) -> None:
        self.markers[payment.id] = {
            "amount_cents": str(payment.amount_cents),
            "currency": payment.currency,
            "accepted_ms": str(payment.accepted_ms),
        }
        self.add(payment.currency, payment.accepted_ms // 1000, payment.amount_cents)

    def marker(self, payment_id: str) -> dict[str, Any] | None:
        self._reach()
        return self.markers.get(payment_id)

    def window(self, first_second: int, last_second: int) -> dict[str, Aggregate]:
        self._reach()
        out: dict[str, Aggregate] = {}
        for (currency, second), agg in self.seconds.items():
            if first_second <= second <= last_second:
                out[currency] = out.get(currency, Aggregate()).merge(agg)
        return out

    def second_counts(self, first_second: int, last_second: int, currency: str | None = None) -> list[int]:
        self._reach()
        counts = [0] * (last_second - first_second + 1)
        for (cur, second), agg in self.seconds.items():
            if first_second <= second <= last_second and currency in (None, cur):
                counts[second - first_second] += agg.count
        return counts

    def replace_seconds(self, currency: str, minute: int, buckets: Sequence[SecondBucket]) -> None:
        self._reach()
        for key in [k for k in self.seconds if k[0] == currency and k[1] // 60 == minute]:
            del self.seconds[key]
        for bucket in buckets:
            self.seconds[(currency, bucket.second)] = bucket.aggregate

    def minute_aggregates(self, first_second: int, last_second: int) -> dict[tuple[str, int], Aggregate]:
        self._reach()
        minutes = range(-(-first_second // 60), (last_second + 1) // 60)
        out: dict[tuple[str, int], Aggregate] = {}
        for (currency, second), agg in self.seconds.items():
            if second // 60 in minutes:
                key = (currency, second // 60)
                out[key] = out.get(key, Aggregate()).merge(agg)
        return out


class FakePaymentLedger(_Dependency):
    """Payments by id, stored once. ``refused`` ids make a batch holding one fail for good
    (``transient=False``), as MySQL refusing a row does."""

    dependency = "mysql"

    def __init__(self, clock_ms: Callable[[], int] = lambda: 1_767_225_600_000) -> None:
        super().__init__()
        self.rows: dict[str, tuple[Payment, int]] = {}
        self.refused: set[str] = set()
        self.batches: list[list[str]] = []
        self._clock_ms = clock_ms

    def store(self, payments: Sequence[Payment]) -> int:
        self.batches.append([p.id for p in payments])  # every attempt, also when down
        self._reach()
        if any(p.id in self.refused for p in payments):
            raise DependencyDown("mysql", ValueError("row refused"), transient=False)
        new = [p for p in payments if p.id not in self.rows]
        for payment in new:
            self.rows[payment.id] = (payment, self._clock_ms())
        return len(new)

    def get(self, payment_id: str) -> StoredPayment | None:
        self._reach()
        if payment_id not in self.rows:
            return None
        payment, stored_ms = self.rows[payment_id]
        return StoredPayment(
            payment.id, payment.amount_cents, payment.currency, _utc(payment.accepted_ms), _utc(stored_ms)
        )

    def seconds(self, first_second: int, last_second: int) -> list[SecondBucket]:
        self._reach()
        buckets: dict[tuple[str, int], Aggregate] = {}
        for payment, _ in self.rows.values():
            second = payment.accepted_ms // 1000
            if first_second <= second <= last_second:
                c = payment.amount_cents
                buckets[(payment.currency, second)] = buckets.get((payment.currency, second), Aggregate()).merge(
                    Aggregate(1, c, c, c)
                )
        return [SecondBucket(cur, sec, agg) for (cur, sec), agg in sorted(buckets.items())]


class FakeIdempotency(_Dependency):
    """Powertools' contract on a dict: one answer per (scope, key) and payload."""

    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]] = {}

    def run_keyed(
        self, scope: str, key: str | None, payload: dict[str, Any], call: Callable[[str | None], dict[str, Any]]
    ) -> dict[str, Any]:
        if key is None:
            return call(None)
        checked = check_key(key)
        self._reach()
        record = self.records.get((scope, checked))
        if record is not None:
            first_payload, answer = record
            if first_payload != payload:
                raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request body")
            if answer is None:
                raise RequestInProgress("a request with this Idempotency-Key is still in progress")
            return answer
        self.records[(scope, checked)] = (payload, None)
        try:
            answer = call(checked)
        except Exception:
            del self.records[(scope, checked)]  # a failed call may be retried with the same key
            raise
        self.records[(scope, checked)] = (payload, answer)
        return answer


class FakeStockGate(_Dependency):
    """Products' availability, pending units and order markers, with the Lua scripts' rules:
    all items or none, never below zero, a marker per order, release/confirm only once."""

    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.products: dict[int, dict[str, str]] = {}
        self.pending_units: dict[int, int] = {}
        self.markers: dict[str, dict[str, str]] = {}
        self.sold: dict[int, int] = {}
        self.stats: dict[tuple[str, int], list[int]] = {}  # (currency, second) -> [orders, cents, units]
        self.locked: list[int] = []
        self.reservations: dict[str, int] = {}  # the index by time: order id -> accepted ms, while pending
        self.reserve_calls = 0  # round trips: one per reserve or reserve_many
        self.confirm_calls = 0  # round trips: one per confirm_many

    def put(self, product_id: int, available: int, price_cents: int = 100) -> None:
        self.products[product_id] = {
            "sku": f"SKU-{product_id}",
            "name": f"Product {product_id}",
            "price_cents": str(price_cents),
            "available": str(available),
        }

    def _available(self, product_id: int) -> int:
        return int(self.products[product_id]["available"])

    def _add(self, product_id: int, units: int) -> None:
        self.products[product_id]["available"] = str(self._available(product_id) + units)

    def _count(self, order_currency: str, accepted_ms: int, sign: int, cents: int, units: int) -> None:
        row = self.stats.setdefault((order_currency, accepted_ms // 1000), [0, 0, 0])
        row[0] += sign
        row[1] += sign * cents
        row[2] += sign * units

    def reserve_many(self, orders: Sequence[Reserving]) -> list[Reservation]:
        self._reach()
        self.reserve_calls += 1
        return [self._reserve(o.order_id, o.items, o.currency, o.accepted_ms) for o in orders]

    def reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        return self.reserve_many([Reserving(order_id, tuple(items), currency, accepted_ms)])[0]

    def _reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        if order_id in self.markers:
            marker = self.markers[order_id]
            return AlreadyReserved(_wire(marker["status"]), int(marker["total_cents"]))
        for item in items:
            if item.product_id not in self.products:
                return Missing(item.product_id)
        for item in items:
            if self._available(item.product_id) < item.quantity:
                return Short(item.product_id, max(0, self._available(item.product_id)))
        prices = tuple(int(self.products[i.product_id]["price_cents"]) for i in items)
        for item in items:
            self._add(item.product_id, -item.quantity)
            self.pending_units[item.product_id] = self.pending_units.get(item.product_id, 0) + item.quantity
            self.sold[item.product_id] = self.sold.get(item.product_id, 0) + item.quantity
        total = sum(p * i.quantity for p, i in zip(prices, items, strict=True))
        units = sum(i.quantity for i in items)
        self.markers[order_id] = {
            "status": "pending",
            "total_cents": str(total),
            "units": str(units),
            "currency": currency,
            "accepted_ms": str(accepted_ms),
            "items": ",".join(f"{i.product_id}:{i.quantity}:{p}" for i, p in zip(items, prices, strict=True)),
        }
        self._count(currency, accepted_ms, 1, total, units)
        self.reservations[order_id] = accepted_ms
        return Reserved(prices)

    def _settle(self, order: Order) -> bool:
        marker = self.markers.get(order.id)
        self.reservations.pop(order.id, None)
        if marker is None or marker["status"] != "pending":
            return False
        for item in order.items:
            self.pending_units[item.product_id] = self.pending_units.get(item.product_id, 0) - item.quantity
        return True

    def release(self, order: Order, outcome: str, reason: str = "", accepted_before_ms: int = 0) -> bool:
        self._reach()
        marker = self.markers.get(order.id)
        if (
            outcome == "expired"
            and marker is not None
            and marker["status"] == "pending"
            and ("claimed" in marker or int(marker["accepted_ms"]) >= accepted_before_ms)
        ):
            return False  # a worker is settling it, or it is younger than the bound
        if not self._settle(order):
            return False
        for item in order.items:
            if item.product_id in self.products:
                self._add(item.product_id, item.quantity)
            self.sold[item.product_id] = self.sold.get(item.product_id, 0) - item.quantity
        self._count(order.currency, order.accepted_ms, -1, order.total_cents, order.units)
        if outcome == "cancelled":
            del self.markers[order.id]  # a retry may reserve again
        else:
            self.markers[order.id].update(status="rejected", reason=reason)
        return True

    def confirm_many(self, orders: Sequence[Order]) -> None:
        if not orders:
            return  # no round trip
        self._reach()
        self.confirm_calls += 1
        for order in orders:
            if self._settle(order):
                self.markers[order.id]["status"] = "confirmed"

    def claim(self, order_ids: Sequence[str]) -> dict[str, Claim]:
        self._reach()
        claims: dict[str, Claim] = {}
        for oid in order_ids:
            marker = self.markers.get(oid)
            if marker is None:
                continue
            if marker["status"] == "pending":
                marker["claimed"] = "1"
            claims[oid] = Claim(_wire(marker["status"]), marker.get("reason"))
        return claims

    def stale(self, accepted_before_ms: int, limit: int) -> list[Held]:
        self._reach()
        oldest = sorted((ms, oid) for oid, ms in self.reservations.items() if ms < accepted_before_ms)[:limit]
        held = []
        for ms, oid in oldest:
            marker = self.markers.get(oid)
            if marker is None or marker["status"] != "pending":
                held.append(Held(oid, False, None))
                continue
            items = tuple(
                Item(int(p), int(q), int(c)) for p, q, c in (x.split(":") for x in marker["items"].split(","))
            )
            order = Order(oid, items, int(marker["total_cents"]), marker["currency"], Delivery("", "", ""), ms)
            held.append(Held(oid, "claimed" in marker, order))
        return held

    def forget(self, order_ids: Sequence[str]) -> None:
        self._reach()
        for oid in order_ids:
            self.reservations.pop(oid, None)

    def marker(self, order_id: str) -> dict[str, str] | None:
        self._reach()
        return self.markers.get(order_id)

    def product(self, product_id: int) -> dict[str, str] | None:
        self._reach()
        return self.products.get(product_id)

    @contextmanager
    def lock(self, product_id: int) -> Iterator[None]:
        self._reach()
        self.locked.append(product_id)
        yield

    def load(self, product: Product, force: bool = False) -> tuple[int | None, int]:
        return self.load_many([product], force)[0]

    def load_many(self, products: Sequence[Product], force: bool = False) -> list[tuple[int | None, int]]:
        self._reach()
        result: list[tuple[int | None, int]] = []
        for p in products:
            before = self._available(p.id) if p.id in self.products else None
            if before is None or force:
                self.put(p.id, max(0, p.stock - self.pending_units.get(p.id, 0)), p.price_cents)
                self.products[p.id].update(sku=p.sku, name=p.name)
            result.append((before, self._available(p.id)))
        return result

    def available(self, product_ids: Sequence[int]) -> dict[int, int | None]:
        self._reach()
        return {pid: self._available(pid) if pid in self.products else None for pid in product_ids}

    def pending(self) -> dict[int, int]:
        self._reach()
        return {pid: units for pid, units in self.pending_units.items() if units}

    def window(self, first_second: int, last_second: int) -> dict[str, list[int]]:
        self._reach()
        out: dict[str, list[int]] = {}
        for (currency, second), row in self.stats.items():
            if first_second <= second <= last_second:
                total = out.setdefault(currency, [0, 0, 0])
                for n, value in enumerate(row):
                    total[n] += value
        return out

    def best_sellers(self, limit: int) -> list[tuple[int, int, int | None]]:
        self._reach()
        top = sorted(((sold, pid) for pid, sold in self.sold.items() if sold > 0), reverse=True)[:limit]
        available = self.available([pid for _, pid in top])
        return [(pid, sold, available[pid]) for sold, pid in top]

    def sold_out(self, limit: int) -> tuple[int, list[int]]:
        self._reach()
        ids = sorted(pid for pid, p in self.products.items() if int(p["available"]) == 0)
        return len(ids), ids[:limit]


class FakeOrderStore(_Dependency):
    """The catalogue and the orders, with MySQL's guard: an order is confirmed only if every
    item has the stock (decremented then), else rejected; an order id is settled once."""

    dependency = "mysql"

    def __init__(self, clock_ms: Callable[[], int] = lambda: 1_767_225_600_000) -> None:
        super().__init__()
        self.catalogue: dict[int, Product] = {}
        self.orders: dict[str, tuple[Order, Settlement]] = {}
        self._clock_ms = clock_ms

    def store(self, orders: Sequence[Order], refused: Mapping[str, str] | None = None) -> list[Settlement]:
        self._reach()
        refused = refused or {}
        settlements = []
        for order in orders:
            if order.id not in self.orders:
                reason = refused.get(order.id)  # the sweep gave its units back: nothing taken
                decided = Settlement(order.id, "rejected", reason) if reason else self._decide(order)
                self.orders[order.id] = (order, decided)
            settled = self.orders[order.id][1]
            settlements.append(Settlement(settled.order_id, _wire(settled.status), settled.reason))
        return settlements

    def existing(self, order_ids: Sequence[str]) -> set[str]:
        self._reach()
        return {oid for oid in order_ids if oid in self.orders}

    def _decide(self, order: Order) -> Settlement:
        for item in order.items:
            product = self.catalogue.get(item.product_id)
            if product is None:
                return Settlement(order.id, "rejected", f"product {item.product_id} is unknown")
            if product.stock < item.quantity:
                return Settlement(
                    order.id,
                    "rejected",
                    f"out of stock: product {item.product_id} has {product.stock} left, {item.quantity} ordered",
                )
        for item in order.items:
            p = self.catalogue[item.product_id]
            self.catalogue[p.id] = Product(p.id, p.sku, p.name, p.price_cents, p.stock - item.quantity)
        return Settlement(order.id, "confirmed")

    def get(self, order_id: str) -> StoredOrder | None:
        self._reach()
        if order_id not in self.orders:
            return None
        order, settled = self.orders[order_id]
        return StoredOrder(
            order.id,
            settled.status,
            settled.reason,
            order.total_cents,
            order.currency,
            order.items,
            _utc(order.accepted_ms),
            _utc(self._clock_ms()),
        )

    def product(self, product_id: int) -> Product | None:
        self._reach()
        return self.catalogue.get(product_id)

    def products(self) -> list[Product]:
        self._reach()
        return [self.catalogue[pid] for pid in sorted(self.catalogue)]

    def save_products(self, products: Sequence[Product]) -> int:
        self._reach()
        for product in products:
            self.catalogue[product.id] = product
        return len(products)


class FakeRateLimiter:
    """``allowance`` requests per client, then refused with ``retry_after`` seconds."""

    def __init__(self, allowance: int, retry_after: int = 1) -> None:
        self.allowance = allowance
        self.retry_after = retry_after
        self.taken: dict[str, int] = {}

    def take(self, client: str) -> Decision:
        self.taken[client] = self.taken.get(client, 0) + 1
        if self.taken[client] <= self.allowance:
            return Decision(True)
        return Decision(False, self.retry_after)


class FakeKeyspace(_Dependency):
    dependency = "redis"

    def __init__(self, keys: int = 0) -> None:
        super().__init__()
        self.keys = keys

    def ping(self) -> None:
        self._reach()

    def delete_all(self) -> int:
        self._reach()
        deleted, self.keys = self.keys, 0
        return deleted


class FakeTables(_Dependency):
    """Tables by name -> rows."""

    dependency = "mysql"

    def __init__(self, rows: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.rows = dict(rows or {})

    def ping(self) -> None:
        self._reach()

    def empty_all(self) -> list[str]:
        self._reach()
        self.rows = dict.fromkeys(self.rows, 0)
        return sorted(self.rows)


@dataclass
class FakeDeadLetters:
    """Queues by name -> messages. ``unreachable`` queues fail ``check``; ``refuse_purge``
    maps a queue to the error code the queue service answers a purge with."""

    queues: dict[str, list[str]] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)
    refuse_purge: dict[str, str] = field(default_factory=dict)

    def check(self, names: Sequence[str]) -> None:
        for name in names:
            if name in self.unreachable:
                raise DependencyDown("sqs", ConnectionError(f"{name} unreachable"))

    def show(self, dlq: str, peek: int) -> dict[str, Any]:
        self.check([dlq])
        messages = self.queues.get(dlq, [])
        return {"queue": dlq, "depth": len(messages), "peek": messages[:peek]}

    def redrive(self, dlq: str, target: str, limit: int) -> int:
        self.check([dlq, target])
        moving = self.queues.get(dlq, [])[:limit]
        self.queues[dlq] = self.queues.get(dlq, [])[limit:]
        self.queues.setdefault(target, []).extend(moving)
        return len(moving)

    def purge(self, name: str) -> str | None:
        if name in self.refuse_purge:
            return self.refuse_purge[name]
        self.queues[name] = []
        return None


class FakeReconcileLog(_Dependency):
    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[dict[str, Any]] = []

    def save(self, report: dict[str, Any]) -> None:
        self._reach()
        self.reports.append(report)

    def last(self) -> dict[str, Any] | None:
        self._reach()
        return self.reports[-1] if self.reports else None


class FakeMetricStore(_Dependency):
    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, float] = {}
        self.calls = 0

    def add(self, fields: Mapping[str, float]) -> None:
        self._reach()
        self.calls += 1
        for name, value in fields.items():
            self.fields[name] = self.fields.get(name, 0) + value

    def read(self) -> dict[str, float]:
        self._reach()
        return dict(self.fields)


def fail_next(fake: _Dependency, method: str, times: int = 1) -> None:
    """The next ``times`` calls of ``fake.method`` raise ``DependencyDown`` (a transient
    outage), then it works again."""
    real = getattr(fake, method)
    left = [times]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            raise DependencyDown(fake.dependency, ConnectionError(f"{fake.dependency} blinked"))
        return real(*args, **kwargs)

    setattr(fake, method, flaky)


def count_calls(fake: object, method: str) -> list[int]:
    """A one-item list counting the calls of ``fake.method`` from now on."""
    real = getattr(fake, method)
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    setattr(fake, method, counted)
    return calls


def reserve_at(stock: FakeStockGate, accepted_ms: int, *lines: tuple[int, int]) -> tuple[str, str]:
    """Reserve as the gateway does; return the queued order as (message id "m-<order id>", body)."""
    from functions.ids import new_id

    order_id = new_id(accepted_ms)
    items = tuple(Item(pid, qty) for pid, qty in lines)
    reserved = stock.reserve(order_id, items, "EUR", accepted_ms)
    assert isinstance(reserved, Reserved), reserved
    priced = tuple(Item(i.product_id, i.quantity, p) for i, p in zip(items, reserved.prices_cents, strict=True))
    delivery = Delivery("1 Main St, Kyiv", "+380 44 123 4567", "a@example.com")
    order = Order(order_id, priced, reserved.total(items), "EUR", delivery, accepted_ms)
    return f"m-{order_id}", order.to_message()


# The type checker proves each fake implements its port (``.ci/run`` runs mypy on this file).
_queue: MessageQueue = FakeQueue()
_counters: PaymentCounters = FakePaymentCounters()
_ledger: PaymentLedger = FakePaymentLedger()
_idempotency: Idempotency = FakeIdempotency()
_stock: StockGate = FakeStockGate()
_orders: OrderStore = FakeOrderStore()
_rate_limiter: RateLimiter = FakeRateLimiter(1)
_keyspace: Keyspace = FakeKeyspace()
_tables: Tables = FakeTables()
_dead_letters: DeadLetters = FakeDeadLetters()
_reconcile_log: ReconcileLog = FakeReconcileLog()
_metric_store: MetricStore = FakeMetricStore()


class FakeStatistics:
    """The one-read statistics store over the fake counters and stock gate (as Redis answers it)."""

    def __init__(
        self,
        counters: FakePaymentCounters,
        stock: FakeStockGate | None = None,
        last_reconcile: dict[str, Any] | None = None,
    ) -> None:
        self.counters = counters
        self.stock = stock or FakeStockGate()
        self.last_reconcile = last_reconcile

    def read(
        self,
        first: int,
        last: int,
        series: bool,
        best_sellers: int,
        sold_out: int,
        series_currency: str | None = None,
    ) -> StatisticsRead:
        return StatisticsRead(
            payments=self.counters.window(first, last),
            second_counts=self.counters.second_counts(first, last, series_currency) if series else None,
            orders=self.stock.window(first, last),
            best_sellers=self.stock.best_sellers(best_sellers),
            sold_out=self.stock.sold_out(sold_out),
            last_reconcile=self.last_reconcile,
        )
