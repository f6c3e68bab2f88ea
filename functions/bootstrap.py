"""The wiring: build the adapters once per process (a Lambda container or a worker) and
hand the entrypoints the services built on them — services only, never a raw client.

``surge()`` returns the services, built lazily from the environment. Tests call
``use(build(settings))`` with their own settings, or pass fakes to ``build``; ``wire``
also returns the adapters behind the services, for tests that look at Redis, SQS or MySQL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import redis

from functions.adapters.idempotency import RedisIdempotency
from functions.adapters.mysql import MySqlConnections, MySqlTarget
from functions.adapters.mysql_orders import MySqlOrders
from functions.adapters.mysql_payments import MySqlPaymentLedger
from functions.adapters.redis_client import connect
from functions.adapters.redis_keyspace import RedisKeyspace, RedisReconcileLog
from functions.adapters.redis_metrics import RedisMetricStore
from functions.adapters.redis_payments import RedisPaymentCounters
from functions.adapters.redis_ratelimit import RedisRateLimiter
from functions.adapters.redis_statistics import RedisStatistics
from functions.adapters.redis_stock import RedisStock
from functions.adapters.schema import MySqlTables
from functions.adapters.sqs import SqsQueue, sqs_client
from functions.adapters.sqs_dlq import SqsDeadLetters
from functions.admin.service import OperatorService
from functions.batching import Batching, coalescing, one_by_one
from functions.checkout.service import CheckoutService
from functions.checkout.statistics import orders_section
from functions.config import QUEUE_KINDS, Settings, get_settings
from functions.healthcheck import HealthService
from functions.payments.service import PaymentService
from functions.ports import (
    MessageQueue,
    OrderStore,
    PaymentCounters,
    PaymentLedger,
    RateLimiter,
    StatisticsStore,
    StockGate,
)
from functions.reconcile.service import ReconcileService
from functions.statistics.queues import QueueDepths, depth_gauges
from functions.statistics.service import StatisticsService
from functions.telemetry.metrics import Metrics, emf_wanted


@dataclass
class Surge:
    """What the entrypoints (routes, workers, schedules, CLI) get: services, no clients."""

    settings: Settings
    payments: PaymentService
    checkout: CheckoutService
    statistics: StatisticsService
    health: HealthService
    reconcile: ReconcileService
    operator: OperatorService
    metrics: Metrics
    queue_depths: QueueDepths
    # None when RATE_LIMIT_ENABLED=0 (load-test profiles only)
    rate_limiter: RateLimiter | None = None


@dataclass
class Adapters:
    """The adapters behind the services; only the wiring (and tests) hold them."""

    settings: Settings
    redis: redis.Redis
    sqs: SqsQueue
    queue: MessageQueue
    db: MySqlConnections
    counters: PaymentCounters
    ledger: PaymentLedger
    stock: StockGate
    orders: OrderStore
    statistics: StatisticsStore


def wire(
    settings: Settings,
    *,
    queue: MessageQueue | None = None,
    counters: PaymentCounters | None = None,
    ledger: PaymentLedger | None = None,
) -> tuple[Surge, Adapters]:
    """Real adapters unless a fake is passed in; the services, and the adapters behind them."""
    redis_client = connect(settings.redis_url)
    sqs = SqsQueue(
        sqs_client(settings.sqs_endpoint_url, settings.aws_region, wire=settings.sqs_wire), settings.queue_urls
    )
    # a long-lived gateway process: concurrent requests share SQS (and Redis) round trips
    batching: Batching[Any, Any] = one_by_one
    if settings.sqs_batching:
        batching = coalescing(settings.sqs_batch_wait_ms, settings.sqs_batch_senders, "sqs")
    queue = queue or sqs
    db = MySqlConnections(mysql_target(settings))
    redis_counters = RedisPaymentCounters(
        redis_client, settings.redis_prefix, settings.payment_marker_ttl_seconds, settings.stats_window_seconds
    )
    counters = counters or redis_counters
    ledger = ledger or MySqlPaymentLedger(db)
    idempotency = RedisIdempotency(redis_client, settings.redis_prefix, settings.idempotency_ttl_seconds)
    metrics = Metrics(
        RedisMetricStore(redis_client, settings.redis_prefix), emf_wanted(settings), settings.metrics_flush_seconds
    )
    payments = PaymentService(
        queue, counters, ledger, idempotency, settings.queue_name("payments"), metrics=metrics, batching=batching
    )
    queue_depths = QueueDepths(
        sqs, settings.consumed_queues, on_refresh=lambda depths: metrics.record(depth_gauges(depths))
    )
    stock = RedisStock(
        redis_client, settings.redis_prefix, settings.payment_marker_ttl_seconds, settings.stats_window_seconds
    )
    orders = MySqlOrders(db)
    checkout = CheckoutService(
        stock, queue, orders, idempotency, settings.queue_name("orders"), settings.default_currency, batching=batching
    )
    keyspace = RedisKeyspace(redis_client, settings.redis_prefix)
    reconcile_log = RedisReconcileLog(redis_client, settings.redis_prefix)
    tables = MySqlTables(db)
    reconcile = ReconcileService(
        counters,
        ledger,
        sqs,
        stock,
        orders,
        reconcile_log,
        settings.queue_name("payments"),
        settings.queue_name("orders"),
        settings.stats_window_seconds,
        settings.reservation_timeout_seconds,
    )
    statistics_store = RedisStatistics(redis_client, redis_counters, stock, reconcile_log.key)
    statistics = StatisticsService(statistics_store)
    statistics.add_section("queues", queue_depths.section, operator_only=True)
    statistics.add_section("orders", orders_section(settings.default_currency))
    health = HealthService(
        {
            "redis": keyspace.ping,
            "sqs": lambda: sqs.depth(settings.queue_name("payments")),
            "mysql": tables.ping,
        }
    )
    operator = OperatorService(
        {kind: settings.queue_name(kind) for kind in QUEUE_KINDS},
        SqsDeadLetters(sqs),
        keyspace,
        tables,
        orders,
        stock,
    )
    rate_limiter = (
        RedisRateLimiter(redis_client, settings.redis_prefix, settings.rate_limit_per_second, settings.rate_limit_burst)
        if settings.rate_limit_enabled
        else None
    )
    services = Surge(
        settings=settings,
        payments=payments,
        checkout=checkout,
        statistics=statistics,
        health=health,
        reconcile=reconcile,
        operator=operator,
        metrics=metrics,
        queue_depths=queue_depths,
        rate_limiter=rate_limiter,
    )
    adapters = Adapters(
        settings=settings,
        redis=redis_client,
        sqs=sqs,
        queue=queue,
        db=db,
        counters=counters,
        ledger=ledger,
        stock=stock,
        orders=orders,
        statistics=statistics_store,
    )
    return services, adapters


def mysql_target(settings: Settings) -> MySqlTarget:
    """Where MySQL is; with a secret, its credentials are read again for each new connection
    (cached by Powertools for a few minutes), so a rotation needs no restart."""
    credentials = None
    if settings.mysql_secret_arn:
        from functions.adapters.secrets import mysql_credentials

        arn, region = settings.mysql_secret_arn, settings.aws_region
        credentials = lambda: mysql_credentials(arn, region=region)  # noqa: E731
    return MySqlTarget.from_url(settings.mysql_url, session_init=settings.mysql_session_init, credentials=credentials)


def build(
    settings: Settings,
    *,
    queue: MessageQueue | None = None,
    counters: PaymentCounters | None = None,
    ledger: PaymentLedger | None = None,
) -> Surge:
    """The services on real adapters (unless a fake is passed in)."""
    return wire(settings, queue=queue, counters=counters, ledger=ledger)[0]


_current: Surge | None = None
_building = threading.Lock()


def surge() -> Surge:
    """The services, built once on first use (the pollers' first batches arrive together)."""
    global _current
    if _current is None:
        with _building:
            if _current is None:
                _current = build(get_settings())
    return _current


def use(instance: Surge | None) -> None:
    """Replace the wired services (tests); ``None`` rebuilds from the environment next time."""
    global _current
    _current = instance
