"""The ports: every interface the services call, in one place. The adapters under
``functions/adapters/`` implement them against Redis, SQS and MySQL; fakes implement
them in memory for unit tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from functions.checkout.model import (
    Claim,
    Held,
    Item,
    Order,
    Product,
    Reservation,
    Reserving,
    Settlement,
    StoredOrder,
)
from functions.payments.model import Payment, StoredPayment
from functions.statistics.model import Aggregate, SecondBucket, StatisticsRead


class MessageQueue(Protocol):
    def send(self, queue: str, body: str, attributes: dict[str, str] | None = None) -> str:
        """Put one message on ``queue``; return its id or raise ``DependencyDown``."""

    def send_batch(self, queue: str, entries: list[tuple[str, dict[str, str] | None]]) -> list[str | Exception]:
        """Put up to 10 (body, attributes) on ``queue`` in one call; per entry its id or its error."""

    def depth(self, queue: str) -> dict[str, int]:
        """``{"visible": n, "in_flight": n}`` for ``queue``."""


class PaymentCounters(Protocol):
    """Hot state of payments in Redis: in-flight markers and per-second statistics."""

    def record(self, payment: Payment, metrics: Mapping[str, float] | None = None) -> None:
        """Count ``payment``; ``metrics`` are increments of metric fields folded into the same call."""

    def record_many(self, payments: Sequence[Payment], metrics: Mapping[str, float] | None = None) -> None:
        """Count ``payments`` (and the ``metrics`` increments) in one round trip."""

    def marker(self, payment_id: str) -> dict[str, Any] | None: ...

    def replace_seconds(self, currency: str, minute: int, buckets: Sequence[SecondBucket]) -> None: ...

    def minute_aggregates(self, first_second: int, last_second: int) -> dict[tuple[str, int], Aggregate]: ...


class StatisticsStore(Protocol):
    def read(
        self,
        first_second: int,
        last_second: int,
        series: bool,
        best_sellers: int,
        sold_out: int,
        series_currency: str | None = None,
    ) -> StatisticsRead:
        """The figures of [first, last] in one round trip (the per-second series of
        ``series_currency`` only, else of all currencies); ``DependencyDown`` if the store is down."""


class PaymentLedger(Protocol):
    """Payments at rest in MySQL."""

    def store(self, payments: Sequence[Payment]) -> int:
        """Insert idempotently by id in one transaction; return rows newly inserted."""

    def get(self, payment_id: str) -> StoredPayment | None: ...

    def seconds(self, first_second: int, last_second: int) -> list[SecondBucket]: ...


class Idempotency(Protocol):
    """Runs a call once per (scope, key); a retry with the same key and payload gets the first answer."""

    def run_keyed(
        self, scope: str, key: str | None, payload: dict[str, Any], call: Callable[[str | None], dict[str, Any]]
    ) -> dict[str, Any]:
        """``call(None)`` without a key; else ``call(key)`` once, raising ``IdempotencyKeyReused`` for
        another payload, ``RequestInProgress`` while the first call runs, ``DependencyDown``."""


class StockGate(Protocol):
    """Hot stock in Redis: atomic reservations, order markers and orders statistics."""

    def reserve(self, order_id: str, items: Sequence[Item], currency: str, accepted_ms: int) -> Reservation:
        """All items or none, never below zero; also writes the pending marker and the counters."""

    def reserve_many(self, orders: Sequence[Reserving]) -> list[Reservation]:
        """``reserve`` for each order in turn, in one round trip; one answer per order."""

    def release(self, order: Order, outcome: str, reason: str = "", accepted_before_ms: int = 0) -> bool:
        """Give the reservation back, once; ``outcome`` is ``cancelled`` (never queued),
        ``rejected`` (MySQL refused it) or ``expired`` (the sweep: only if no worker claimed
        it and it was accepted before ``accepted_before_ms``)."""

    def confirm_many(self, orders: Sequence[Order]) -> None:
        """Stored in MySQL: each order's units stop being pending and its marker says confirmed,
        in one round trip; idempotent (a redelivered order changes nothing more)."""

    def claim(self, order_ids: Sequence[str]) -> dict[str, Claim]:
        """The worker takes these orders over from the sweep; what Redis holds for each (absent: no marker)."""

    def stale(self, accepted_before_ms: int, limit: int) -> list[Held]:
        """Up to ``limit`` reservations accepted before ``accepted_before_ms``, oldest first."""

    def forget(self, order_ids: Sequence[str]) -> None:
        """Drop these orders from the reservations index (their marker is gone or settled)."""

    def marker(self, order_id: str) -> dict[str, str] | None: ...

    def product(self, product_id: int) -> dict[str, str] | None: ...

    def lock(self, product_id: int) -> AbstractContextManager[None]:
        """Held while a missing product is loaded from MySQL, so only one caller loads it."""

    def load(self, product: Product, force: bool = False) -> tuple[int | None, int]:
        """Available := MySQL stock - pending; only if missing unless ``force``. (before, after)."""

    def load_many(self, products: Sequence[Product], force: bool = False) -> list[tuple[int | None, int]]: ...

    def available(self, product_ids: Sequence[int]) -> dict[int, int | None]: ...

    def pending(self) -> dict[int, int]:
        """Units reserved per product by orders not yet settled in MySQL."""


class OrderStore(Protocol):
    """Orders and the catalogue at rest in MySQL, the source of truth for stock."""

    def store(self, orders: Sequence[Order], refused: Mapping[str, str] | None = None) -> list[Settlement]:
        """Insert idempotently by id and decrement stock with a guard, in one transaction;
        orders in ``refused`` (id -> reason) are stored rejected, taking nothing."""

    def existing(self, order_ids: Sequence[str]) -> set[str]:
        """Which of these orders MySQL has stored."""

    def get(self, order_id: str) -> StoredOrder | None: ...

    def product(self, product_id: int) -> Product | None: ...

    def products(self) -> list[Product]: ...

    def save_products(self, products: Sequence[Product]) -> int: ...


@dataclass(frozen=True)
class Decision:
    """A rate limiter's answer for one request."""

    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter(Protocol):
    def take(self, client: str) -> Decision:
        """Take one token of ``client``'s bucket (one round trip)."""


class Keyspace(Protocol):
    """This deployment's Redis keys as a whole."""

    def ping(self) -> None: ...

    def delete_all(self) -> int:
        """Delete every key of the deployment; how many there were."""


class Tables(Protocol):
    """This deployment's MySQL tables as a whole."""

    def ping(self) -> None: ...

    def empty_all(self) -> list[str]:
        """Empty every table (the migrations excepted); their names."""


class DeadLetters(Protocol):
    """Operator access to the queues by name."""

    def check(self, names: Sequence[str]) -> None:
        """Raise ``DependencyDown`` unless every named queue can be reached."""

    def show(self, dlq: str, peek: int) -> dict[str, Any]: ...

    def redrive(self, dlq: str, target: str, limit: int) -> int: ...

    def purge(self, name: str) -> str | None:
        """Empty a queue; the error code when the queue service refuses, else None."""


class MetricStore(Protocol):
    """Metric counters every process adds to (one Redis hash locally)."""

    def add(self, fields: Mapping[str, float]) -> None:
        """Add each increment to its field, all in one round trip."""

    def read(self) -> dict[str, float]: ...


class ReconcileLog(Protocol):
    def save(self, report: dict[str, Any]) -> None: ...

    def last(self) -> dict[str, Any] | None: ...
