"""Wire the adapters to the services once per process (a Lambda container or a worker).

``surge()`` returns the wired object graph, built lazily from the environment.
Tests call ``use(build(settings))`` with their own settings, or pass fakes to ``build``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from functions.adapters.idempotency import RedisIdempotency
from functions.adapters.mysql import MySqlConnections, MySqlTarget
from functions.adapters.mysql_orders import MySqlOrders
from functions.adapters.mysql_payments import MySqlPaymentLedger
from functions.adapters.ports import MessageQueue, OrderStore, PaymentCounters, PaymentLedger, StockGate
from functions.adapters.redis_client import connect
from functions.adapters.redis_metrics import RedisMetricStore
from functions.adapters.redis_payments import RedisPaymentCounters
from functions.adapters.redis_ratelimit import RedisRateLimiter
from functions.adapters.redis_statistics import RedisStatistics
from functions.adapters.redis_stock import RedisStock
from functions.adapters.sqs import BatchingSender, SqsQueue, sqs_client
from functions.checkout.service import CheckoutService
from functions.checkout.statistics import orders_section
from functions.config import Settings, get_settings
from functions.errors import DependencyDown
from functions.payments.service import PaymentService
from functions.statistics.queues import QueueDepths, depth_gauges
from functions.statistics.service import StatisticsService
from functions.telemetry.metrics import Metrics, emf_wanted


@dataclass
class Surge:
    """Everything a function needs, wired."""

    settings: Settings
    redis: redis.Redis
    sqs: SqsQueue
    queue: MessageQueue
    db: MySqlConnections
    counters: PaymentCounters
    ledger: PaymentLedger
    payments: PaymentService
    statistics: StatisticsService
    metrics: Metrics
    queue_depths: QueueDepths
    stock: StockGate
    orders: OrderStore
    checkout: CheckoutService
    # extra reconcile steps by name (checkout adds stock): fn(now_s) -> report
    reconcilers: dict[str, Callable[[int], dict[str, Any]]] = field(default_factory=dict)
    # None when RATE_LIMIT_ENABLED=0 (load-test profiles only)
    rate_limiter: RedisRateLimiter | None = None


def build(
    settings: Settings,
    *,
    queue: MessageQueue | None = None,
    counters: PaymentCounters | None = None,
    ledger: PaymentLedger | None = None,
) -> Surge:
    """Real adapters unless a fake is passed in."""
    redis_client = connect(settings.redis_url)
    sqs = SqsQueue(
        sqs_client(settings.sqs_endpoint_url, settings.aws_region, wire=settings.sqs_wire), settings.queue_urls
    )
    if queue is None:
        batching = settings.sqs_batching
        queue = BatchingSender(sqs, settings.sqs_batch_wait_ms, settings.sqs_batch_senders) if batching else sqs
    db = MySqlConnections(MySqlTarget.from_url(settings.mysql_url))
    redis_counters = RedisPaymentCounters(
        redis_client, settings.redis_prefix, settings.payment_marker_ttl_seconds, settings.stats_window_seconds
    )
    counters = counters or redis_counters
    ledger = ledger or MySqlPaymentLedger(db)
    idempotency = RedisIdempotency(redis_client, settings.redis_prefix, settings.idempotency_ttl_seconds)
    metrics = Metrics(RedisMetricStore(redis_client, settings.redis_prefix), emf=emf_wanted())
    payments = PaymentService(queue, counters, ledger, idempotency, settings.queue_name("payments"), metrics=metrics)
    queue_depths = QueueDepths(
        sqs, lambda: _consumed_queues(settings), on_refresh=lambda depths: metrics.record(depth_gauges(depths))
    )
    stock = RedisStock(
        redis_client, settings.redis_prefix, settings.payment_marker_ttl_seconds, settings.stats_window_seconds
    )
    orders = MySqlOrders(db)
    checkout = CheckoutService(
        stock, queue, orders, idempotency, settings.queue_name("orders"), settings.default_currency
    )
    reconcile_key = f"{settings.redis_prefix}reconcile:last"
    statistics = StatisticsService(RedisStatistics(redis_client, redis_counters, stock, reconcile_key))
    statistics.add_section("queues", queue_depths.section)
    app = Surge(
        settings=settings,
        redis=redis_client,
        sqs=sqs,
        queue=queue,
        db=db,
        counters=counters,
        ledger=ledger,
        payments=payments,
        statistics=statistics,
        metrics=metrics,
        queue_depths=queue_depths,
        stock=stock,
        orders=orders,
        checkout=checkout,
        rate_limiter=RedisRateLimiter(
            redis_client, settings.redis_prefix, settings.rate_limit_per_second, settings.rate_limit_burst
        )
        if settings.rate_limit_enabled
        else None,
    )
    wire_checkout(app)
    return app


def wire_checkout(app: Surge) -> None:
    """The orders statistics section and the stock reconcile step."""
    from functions.reconcile.stock import reconcile_stock

    def orders_drained() -> bool:
        try:
            depth = app.sqs.depth(app.settings.queue_name("orders"))
        except DependencyDown:
            return False
        return depth["visible"] == 0 and depth["in_flight"] == 0

    app.statistics.add_section("orders", orders_section(app.settings.default_currency))
    app.reconcilers["stock"] = lambda now_s: reconcile_stock(app.stock, app.orders, orders_drained())


def _consumed_queues(settings: Settings) -> list[str]:
    """The queues the app consumes (payments, orders…), read from its handlers when it is loaded."""
    from functions.workers.queues import app_queues

    try:
        return app_queues() or [settings.queue_name("payments")]
    except ImportError:
        return [settings.queue_name("payments")]


_current: Surge | None = None


def surge() -> Surge:
    global _current
    if _current is None:
        _current = build(get_settings())
    return _current


def use(instance: Surge | None) -> None:
    """Replace the wired graph (tests); ``None`` rebuilds from the environment next time."""
    global _current
    _current = instance
