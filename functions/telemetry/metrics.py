"""Metric increments and where they go.

Code describes what happened with ``Increments`` (counters and histogram observations);
``Metrics`` sends them to one of two sinks:

* ``redis`` (local runtime): every increment is a field of one Redis hash
  (``<prefix>metrics``) so all gateway processes and workers add up; ``GET /metrics``
  renders it as Prometheus text. The payment hot path folds its fields into the Lua call
  it makes anyway (``Metrics.fold``), so metrics cost it no extra round trip; a long-lived
  process (the local gateway and workers) adds them up in memory and writes them once a second.
* ``emf`` (Lambda): Powertools Metrics, namespace ``Surge``, printed as CloudWatch
  Embedded Metric Format at the end of each invocation (``Metrics.flush``).

>>> from tests.fakes import FakeMetricStore
>>> usage = Increments().count("surge_payments_accepted_total", currency="EUR")
>>> usage = usage.observe("surge_enqueue_latency_seconds", 0.0021, LATENCY_BUCKETS_S)
>>> store = FakeMetricStore()
>>> Metrics(store, emf=False).record(usage)  # one round trip (redis) or EMF entries (emf)
>>> store.calls, store.fields['surge_payments_accepted_total{currency="EUR"}']
(1, 1)
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from aws_lambda_powertools.metrics import Metrics as EmfMetrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from functions.config import Settings
from functions.observability import logger
from functions.ports import MetricStore

NAMESPACE = "Surge"

# Upper bounds of histogram buckets (Prometheus ``le``); the last bucket is +Inf.
LATENCY_BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100)
LAG_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def series_name(name: str, labels: Mapping[str, str]) -> str:
    """The Prometheus series a value belongs to.

    >>> series_name("surge_requests_rejected_total", {"route": "/payment", "code": "bad_json"})
    'surge_requests_rejected_total{code="bad_json",route="/payment"}'
    """
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@lru_cache(maxsize=4096)
def _series(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    # the hot path names the same few series again and again: format each once
    return series_name(name, dict(labels))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def bucket_bound(value: float, buckets: tuple[float, ...]) -> str:
    """The ``le`` of the one bucket ``value`` falls in (stored non-cumulative, summed on render).

    >>> bucket_bound(0.003, LATENCY_BUCKETS_S), bucket_bound(9.0, LATENCY_BUCKETS_S)
    ('0.005', '+Inf')
    """
    for bound, label in _labels(buckets):
        if value <= bound:
            return label
    return "+Inf"


@lru_cache(maxsize=64)
def _labels(buckets: tuple[float, ...]) -> tuple[tuple[float, str], ...]:
    return tuple((bound, _number(bound)) for bound in buckets)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class Increments:
    """What happened, as counter increments and histogram observations."""

    fields: dict[str, float] = field(default_factory=dict)
    # (name, labels, value, unit) as CloudWatch sees them
    emf: list[tuple[str, dict[str, str], float, str]] = field(default_factory=list)

    def count(self, name: str, value: float = 1, **labels: str) -> Increments:
        self._add(_series(name, tuple(labels.items())), value)
        self.emf.append((name, labels, value, MetricUnit.Count.value))
        return self

    def observe(self, name: str, value: float, buckets: tuple[float, ...], **labels: str) -> Increments:
        """One observation of a histogram: its bucket, ``_count`` and ``_sum``."""
        items = tuple(labels.items())
        self._add(_series(f"{name}_bucket", (*items, ("le", bucket_bound(value, buckets)))), 1)
        self._add(_series(f"{name}_count", items), 1)
        self._add(_series(f"{name}_sum", items), value)
        unit = MetricUnit.Seconds.value if name.endswith("_seconds") else MetricUnit.Count.value
        self.emf.append((name, labels, value, unit))
        return self

    def gauge(self, name: str, value: float, **labels: str) -> Increments:
        """A level (queue depth): CloudWatch only; locally gauges are read live at scrape time."""
        self.emf.append((name, labels, value, MetricUnit.Count.value))
        return self

    def _add(self, key: str, value: float) -> None:
        self.fields[key] = self.fields.get(key, 0) + value


class Metrics:
    """Sends ``Increments`` to Redis (local) or CloudWatch EMF (Lambda). Never raises.

    ``buffer_seconds`` (a long-lived process): ``record`` adds to an in-process buffer that a
    thread writes to Redis every that many seconds, in one round trip — a refused request
    then costs no Redis call of its own. ``flush_buffered`` writes it now (``GET /metrics``).
    """

    def __init__(self, store: MetricStore | None, emf: bool, buffer_seconds: float = 0):
        self._store = store
        self._emf = EmfMetrics(namespace=NAMESPACE) if emf else None
        self._pending = False  # Powertools warns on every flush of an empty set
        self._buffer_seconds = buffer_seconds
        self._buffer: dict[str, float] = {}
        self._buffer_lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    @property
    def store(self) -> MetricStore | None:
        return self._store

    def fold(self, usage: Increments) -> dict[str, float]:
        """Fields for a Redis call the caller makes anyway. With EMF they are emitted now instead,
        and a buffering process adds them to its buffer: one write a second costs Redis less than
        a few HINCRBYFLOATs in every call (each ~9 µs of Redis's time)."""
        if self._emf is not None:
            self._emit(usage)
            return {}
        if self._buffer_seconds > 0 and self._store is not None:
            self.record(usage)
            return {}
        return usage.fields

    def record(self, usage: Increments) -> None:
        """At most one Redis round trip (none when buffered); a metrics failure never fails the request."""
        if self._emf is not None:
            self._emit(usage)
        elif self._store is not None and usage.fields:
            if self._buffer_seconds <= 0:
                self._add(usage.fields)
                return
            with self._buffer_lock:
                for name, value in usage.fields.items():
                    self._buffer[name] = self._buffer.get(name, 0) + value
            if self._flusher is None:
                self._start_flusher()

    def flush_buffered(self) -> None:
        """Write what the buffer holds in one round trip; kept for the next flush if Redis is down."""
        with self._buffer_lock:
            fields, self._buffer = self._buffer, {}
        if fields and not self._add(fields):
            with self._buffer_lock:
                for name, value in fields.items():
                    self._buffer[name] = self._buffer.get(name, 0) + value

    def _add(self, fields: Mapping[str, float]) -> bool:
        assert self._store is not None
        try:
            self._store.add(fields)
            return True
        except Exception as exc:  # Redis down: the request's own answer matters more
            logger.debug("metrics not recorded", extra={"reason": str(exc)})
            return False

    def _start_flusher(self) -> None:
        with self._buffer_lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True)
            self._flusher.start()
        atexit.register(self.flush_buffered)  # a stopping process writes its last second

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self._buffer_seconds)
            self.flush_buffered()

    def flush(self) -> None:
        """End of an invocation: print the EMF blob (no-op locally)."""
        if self._emf is not None and self._pending:
            self._pending = False
            self._emf.flush_metrics()

    def _emit(self, usage: Increments) -> None:
        assert self._emf is not None
        for name, labels, value, unit in usage.emf:
            if labels:  # dimensions belong to a metric set: labelled values get their own blob
                with single_metric(name, MetricUnit(unit), value, namespace=NAMESPACE, default_dimensions=labels):
                    pass
            else:
                self._emf.add_metric(name=name, unit=unit, value=value)
                self._pending = True


def emf_wanted(settings: Settings) -> bool:
    """``METRICS_SINK=emf|redis``; by default EMF on Lambda and Redis elsewhere."""
    if settings.metrics_sink in ("emf", "redis"):
        return settings.metrics_sink == "emf"
    return settings.on_lambda
