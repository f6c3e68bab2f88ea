"""``GET /metrics`` through prometheus_client: a custom collector over the values every
process adds to Redis (counters, non-cumulative histogram buckets) and the queue gauges
read at scrape time, typed and described by ``functions.telemetry.catalog``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from functions.telemetry.catalog import FAMILIES, Family
from functions.telemetry.metrics import bucket_bound

_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_HISTOGRAM_PARTS = ("_bucket", "_count", "_sum")

# generate_latest writes the classic text format (0.0.4), which every Prometheus reads
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

Labels = tuple[tuple[str, str], ...]


def parse_series(series: str) -> tuple[str, dict[str, str]]:
    """``'a_total{x="1"}'`` -> ``('a_total', {'x': '1'})``."""
    match = _SERIES.match(series)
    if not match:
        return series, {}
    labels = _LABEL.findall(match["labels"] or "")
    return match["name"], {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in labels}


def _family(name: str, kind: str) -> Family:
    # a value recorded under a name the catalogue lacks still shows, typed by its shape
    return FAMILIES.get(name) or Family(kind, f"Surge {kind} {name}.")


class RedisAggregateCollector(Collector):
    """One scrape's values: ``fields`` (series -> value, from the Redis hash) and ``gauges``."""

    def __init__(self, fields: Mapping[str, float], gauges: Mapping[str, float] | None = None):
        self._fields = fields
        self._gauges = gauges or {}

    def collect(self) -> Iterator[Metric]:
        counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        histograms: dict[str, dict[Labels, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        for series, value in self._fields.items():
            name, labels = parse_series(series)
            part = next((p for p in _HISTOGRAM_PARTS if name.endswith(p)), None)
            if part is None:
                counters[name][tuple(sorted(labels.items()))] = value
                continue
            le = labels.pop("le", None)
            parts = histograms[name.removesuffix(part)][tuple(sorted(labels.items()))]
            parts[f"le={le}" if part == "_bucket" else part] = value
        for name in sorted(counters):
            yield self._counter(name, counters[name])
        for name in sorted(histograms):
            yield self._histogram(name, histograms[name])
        gauges: dict[str, dict[Labels, float]] = defaultdict(dict)
        for series, value in self._gauges.items():
            name, labels = parse_series(series)
            gauges[name][tuple(sorted(labels.items()))] = value
        for name in sorted(gauges):
            family = GaugeMetricFamily(name, _family(name, "gauge").help, labels=_label_names(gauges[name]))
            for label_items, level in sorted(gauges[name].items()):
                family.add_metric([v for _, v in label_items], level)
            yield family

    @staticmethod
    def _counter(name: str, series: dict[Labels, float]) -> Metric:
        family = CounterMetricFamily(name, _family(name, "counter").help, labels=_label_names(series))
        for labels, value in sorted(series.items()):
            family.add_metric([v for _, v in labels], value)
        return family

    @staticmethod
    def _histogram(name: str, series: dict[Labels, dict[str, float]]) -> Metric:
        """Buckets are stored one per observation (non-cumulative): add them up over every
        declared bound, so each bucket shows even before its first observation."""
        info = _family(name, "histogram")
        family = HistogramMetricFamily(name, info.help, labels=_label_names(series))
        for labels, parts in sorted(series.items()):
            stored = {k.removeprefix("le="): v for k, v in parts.items() if k.startswith("le=")}
            bounds = [bucket_bound(b, info.buckets) for b in info.buckets] if info.buckets else []
            bounds += sorted((le for le in stored if le not in bounds and le != "+Inf"), key=float)
            running, buckets = 0.0, []
            for le in sorted(bounds, key=float):
                running += stored.get(le, 0.0)
                buckets.append((le, running))
            count = parts.get("_count", running + stored.get("+Inf", 0.0))
            buckets.append(("+Inf", count))
            family.add_metric([v for _, v in labels], buckets, parts.get("_sum", 0.0))
        return family


def _label_names(series: Mapping[Labels, object]) -> list[str]:
    return sorted({k for labels in series for k, _ in labels})


def render(fields: Mapping[str, float], gauges: Mapping[str, float] | None = None) -> str:
    """Prometheus text exposition (0.0.4) of one scrape.

    >>> print(render({'x_total{a="1"}': 2.0}), end="")
    # HELP x_total Surge counter x_total.
    # TYPE x_total counter
    x_total{a="1"} 2.0
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisAggregateCollector(fields, gauges))
    return generate_latest(registry).decode()
