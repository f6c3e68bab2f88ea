"""Render metric fields (from Redis) and gauges as Prometheus text exposition format 0.0.4."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

from functions.telemetry.metrics import series_name

_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_HISTOGRAM_PARTS = ("_bucket", "_count", "_sum")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def parse_series(series: str) -> tuple[str, dict[str, str]]:
    """``'a_total{x="1"}'`` -> ``('a_total', {'x': '1'})``."""
    match = _SERIES.match(series)
    if not match:
        return series, {}
    labels = _LABEL.findall(match["labels"] or "")
    return match["name"], {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in labels}


def _value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


def _le_key(le: str) -> float:
    return float("inf") if le == "+Inf" else float(le)


def render(fields: Mapping[str, float], gauges: Mapping[str, float] | None = None) -> str:
    """Counters (``*_total``) and histograms (non-cumulative buckets made cumulative) from
    ``fields``, plus ``gauges`` (series name -> value) read at scrape time.

    >>> print(render({'x_total{a="1"}': 2.0}), end="")
    # TYPE x_total counter
    x_total{a="1"} 2
    """
    counters: dict[str, list[str]] = defaultdict(list)
    histograms: dict[str, dict[tuple[tuple[str, str], ...], dict[str, float]]] = defaultdict(dict)
    for series, value in sorted(fields.items()):
        name, labels = parse_series(series)
        part = next((p for p in _HISTOGRAM_PARTS if name.endswith(p)), None)
        if part is None:
            counters[name].append(f"{series} {_value(value)}")
            continue
        le = labels.pop("le", None)
        entry = histograms[name.removesuffix(part)].setdefault(tuple(sorted(labels.items())), {})
        entry[f"le={le}" if part == "_bucket" else part] = value
    lines: list[str] = []
    for name in sorted(counters):
        lines.append(f"# TYPE {name} counter")
        lines.extend(counters[name])
    for name in sorted(histograms):
        lines.append(f"# TYPE {name} histogram")
        for label_items, parts in sorted(histograms[name].items()):
            labels = dict(label_items)
            bounds = sorted((k.removeprefix("le=") for k in parts if k.startswith("le=")), key=_le_key)
            running = 0.0
            for le in bounds:
                running += parts[f"le={le}"]
                if le != "+Inf":
                    lines.append(f"{series_name(name + '_bucket', {**labels, 'le': le})} {_value(running)}")
            count = parts.get("_count", running)
            lines.append(f"{series_name(name + '_bucket', {**labels, 'le': '+Inf'})} {_value(count)}")
            lines.append(f"{series_name(name + '_count', labels)} {_value(count)}")
            lines.append(f"{series_name(name + '_sum', labels)} {_value(parts.get('_sum', 0.0))}")
    gauge_names: dict[str, list[str]] = defaultdict(list)
    for series, value in sorted((gauges or {}).items()):
        gauge_names[parse_series(series)[0]].append(f"{series} {_value(value)}")
    for name in sorted(gauge_names):
        lines.append(f"# TYPE {name} gauge")
        lines.extend(gauge_names[name])
    return "\n".join(lines) + "\n"
