"""Settings, read once from the environment, with defaults that work on one machine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

# The kinds of queue the app's ``on_sqs_message`` handlers consume, each with ``<name>-dlq``;
# a new worker adds its kind here (a unit test checks this list against app.py's handlers).
QUEUE_KINDS: tuple[str, ...] = ("payments", "orders")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_pairs(name: str) -> dict[str, str]:
    """``a=1,b=2`` -> ``{"a": "1", "b": "2"}``"""
    pairs = (item.split("=", 1) for item in _env(name, "").split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


def direct_payments_enabled() -> bool:
    """``POST /payment/direct`` (MySQL inside the request) is routed: the local load-test
    stacks turn it on; off by default, so the AWS stack has no such route. Read when the
    routes are registered (import time), hence a function of the environment."""
    return _env_bool("PAYMENT_DIRECT_ENABLED", False)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about Surge.

    ``Settings.from_env()`` reads them from the environment; the defaults suit this machine.

    >>> settings = Settings(queue_prefix="shop-")
    >>> settings.queue_name("payments"), settings.queue_name("payments-dlq")
    ('shop-payments', 'shop-payments-dlq')
    """

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "surge:"
    mysql_url: str = "mysql://root@127.0.0.1:3306/surge"
    sqs_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    queue_prefix: str = "surge-"
    max_receive_count: int = 5
    visibility_timeout: int = 30
    stats_window_seconds: int = 1200
    idempotency_ttl_seconds: int = 86400
    payment_marker_ttl_seconds: int = 86400
    # a reservation older than this that no worker claimed and MySQL does not have is given back
    reservation_timeout_seconds: int = 300
    default_currency: str = "EUR"
    max_body_bytes: int = 16 * 1024
    # Coalesce SQS sends into SendMessageBatch; on only in long-lived gateway processes.
    sqs_batching: bool = False
    # at a few hundred requests/s, 4 ms lets ~3 requests share a call (docs/benchmarks.md)
    sqs_batch_wait_ms: float = 4.0
    sqs_batch_senders: int = 4
    # the hot SQS calls through our lean JSON-protocol client; SQS_WIRE=0 sends them through boto3
    sqs_wire: bool = True
    admin_key: str = ""
    # or the name/ARN of a Secrets Manager secret holding it (read once, on first use)
    admin_key_secret_id: str = ""
    # token bucket per client; off only by explicit config (the load-test profiles)
    rate_limit_enabled: bool = True
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 200
    # Secrets Manager secret with the MySQL username/password (AWS); read into mysql_url
    mysql_secret_arn: str = ""
    # "admin-key": the dashboard, /metrics and the queue figures of /statistics need the
    # X-Admin-Key header (the AWS stack sets it); "": open (one machine)
    operator_auth: str = ""
    # SET time_zone / isolation level on each connection; off on AWS (the DB parameter group
    # sets them: session SETs pin RDS Proxy connections)
    mysql_session_init: bool = True
    payment_direct_enabled: bool = False
    # queue name -> url, known in advance (QUEUE_URLS=name=url,...; the AWS stack passes them)
    queue_urls: dict[str, str] = field(default_factory=dict)
    # METRICS_SINK=emf|redis; empty: EMF on Lambda (on_lambda), Redis elsewhere
    metrics_sink: str = ""
    metrics_flush_seconds: float = 0.0
    on_lambda: bool = False
    # the local worker process (functions.runtime.workers)
    pollers_per_queue: int = 5  # Lambda starts an SQS mapping with five concurrent batches
    # while batches come back full, a mapping adds pollers up to the function's reserved
    # concurrency, or up to this many where it sets none
    pollers_max: int = 10
    # how long a local poller keeps filling a batch; None: each handler's own batching window
    batch_window_seconds: float | None = None
    schedules_enabled: bool = True
    schedule_speedup: float = 1.0
    # the embedded SQS emulator's executable; empty: the one ./surge setup installs
    ministack_bin: str = ""
    # its SQS JSON calls answered by MiniStack's SQS module directly (functions/runtime/ministack_sqs.py)
    ministack_sqs_direct: bool = True
    # the local stack (./surge up): its directory (empty: <repo>/var), the status file and
    # ready markers it gives its processes, how long a stop drains, whose Lambda limits apply
    var_dir: str = ""
    runtime_file: str = ""
    ready_dir: str = ""
    drain_seconds: float = 0.0
    chalice_stage: str = "local"
    chalice_config: str = ""
    # the Prometheus binary of `./surge up --observability`; empty: `prometheus` on PATH
    prometheus_bin: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        region = _env("AWS_REGION", _env("AWS_DEFAULT_REGION", cls.aws_region))
        mysql_url = _env("MYSQL_URL", cls.mysql_url)
        mysql_secret_arn = _env("MYSQL_SECRET_ARN", "")
        if mysql_secret_arn:
            from functions.adapters.secrets import mysql_url_with_secret

            mysql_url = mysql_url_with_secret(mysql_url, mysql_secret_arn, region=region)
        return cls(
            redis_url=_env("REDIS_URL", cls.redis_url),
            redis_prefix=_env("REDIS_PREFIX", cls.redis_prefix),
            mysql_url=mysql_url,
            mysql_secret_arn=mysql_secret_arn,
            queue_urls=_env_pairs("QUEUE_URLS"),
            sqs_endpoint_url=_env("SQS_ENDPOINT_URL", _env("AWS_ENDPOINT_URL_SQS", "")) or None,
            aws_region=region,
            queue_prefix=_env("QUEUE_PREFIX", cls.queue_prefix),
            max_receive_count=int(_env("MAX_RECEIVE_COUNT", str(cls.max_receive_count))),
            visibility_timeout=int(_env("VISIBILITY_TIMEOUT", str(cls.visibility_timeout))),
            stats_window_seconds=int(_env("STATS_WINDOW_SECONDS", str(cls.stats_window_seconds))),
            reservation_timeout_seconds=int(_env("RESERVATION_TIMEOUT_SECONDS", str(cls.reservation_timeout_seconds))),
            default_currency=_env("DEFAULT_CURRENCY", cls.default_currency),
            sqs_batching=_env_bool("SQS_BATCHING", cls.sqs_batching),
            sqs_batch_wait_ms=float(_env("SQS_BATCH_WAIT_MS", str(cls.sqs_batch_wait_ms))),
            sqs_batch_senders=int(_env("SQS_BATCH_SENDERS", str(cls.sqs_batch_senders))),
            sqs_wire=_env_bool("SQS_WIRE", cls.sqs_wire),
            admin_key=_env("ADMIN_KEY", ""),
            admin_key_secret_id=_env("ADMIN_KEY_SECRET_ID", ""),
            rate_limit_enabled=_env_bool("RATE_LIMIT_ENABLED", cls.rate_limit_enabled),
            rate_limit_per_second=float(_env("RATE_LIMIT_PER_SECOND", str(cls.rate_limit_per_second))),
            rate_limit_burst=int(_env("RATE_LIMIT_BURST", str(cls.rate_limit_burst))),
            operator_auth=_env("OPERATOR_AUTH", cls.operator_auth),
            mysql_session_init=_env_bool("MYSQL_SESSION_INIT", cls.mysql_session_init),
            payment_direct_enabled=direct_payments_enabled(),
            metrics_sink=_env("METRICS_SINK", "").lower(),
            metrics_flush_seconds=float(_env("METRICS_FLUSH_SECONDS", "0")),
            on_lambda=bool(_env("AWS_LAMBDA_FUNCTION_NAME", "")),
            pollers_per_queue=int(_env("POLLERS_PER_QUEUE", str(cls.pollers_per_queue))),
            pollers_max=int(_env("POLLERS_MAX", str(cls.pollers_max))),
            batch_window_seconds=float(window) if (window := _env("BATCH_WINDOW_SECONDS", "")) else None,
            schedules_enabled=_env("SCHEDULES", "1") != "0",
            schedule_speedup=float(_env("SCHEDULE_SPEEDUP", str(cls.schedule_speedup))),
            ministack_bin=_env("MINISTACK_BIN", ""),
            ministack_sqs_direct=_env_bool("MINISTACK_SQS_DIRECT", cls.ministack_sqs_direct),
            var_dir=_env("SURGE_VAR", ""),
            runtime_file=_env("SURGE_RUNTIME_FILE", ""),
            ready_dir=_env("SURGE_READY_DIR", ""),
            drain_seconds=float(_env("DRAIN_SECONDS", str(cls.drain_seconds))),
            chalice_stage=_env("CHALICE_STAGE", cls.chalice_stage),
            chalice_config=_env("SURGE_CHALICE_CONFIG", ""),
            prometheus_bin=_env("PROMETHEUS_BIN", ""),
        )

    def queue_name(self, kind: str) -> str:
        """Name of a queue by kind: ``payments``, ``payments-dlq``, ``orders``…"""
        return f"{self.queue_prefix}{kind}"

    def consumed_queues(self) -> list[str]:
        """Names of the queues the app consumes (``surge-payments``, ``surge-orders``…)."""
        return [self.queue_name(kind) for kind in QUEUE_KINDS]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def logging_config() -> tuple[str, str]:
    """(service name, log level) for the logger, read when it is created (at import, before
    ``Settings`` may be built); the service name is also left in the environment, where
    Powertools looks for it."""
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "surge")
    return os.environ["POWERTOOLS_SERVICE_NAME"], _env("LOG_LEVEL", "INFO")


def aws_keys_configured() -> bool:
    """Whether AWS credentials are given by environment (emulators accept made-up ones)."""
    return bool(_env("AWS_ACCESS_KEY_ID", ""))
