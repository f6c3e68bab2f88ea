"""Locust's CSV files turned into a summary table and a PNG of throughput and latency."""

from __future__ import annotations

import csv
from pathlib import Path


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _num(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:  # Locust writes "N/A" before the first request
        return 0.0


def summary_table(csv_prefix: Path) -> str:
    """Markdown: one line per request name, plus the aggregate."""
    lines = [
        "| request | count | failures | req/s | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in _rows(Path(f"{csv_prefix}_stats.csv")):
        name = f"{row['Type']} {row['Name']}".strip() if row["Name"] != "Aggregated" else "**all**"
        lines.append(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} | {_num(row['Requests/s']):.1f} "
            f"| {row['50%']} | {row['99%']} | {_num(row['Max Response Time']):.0f} |"
        )
    return "\n".join(lines)


def aggregate(csv_prefix: Path) -> dict[str, float]:
    """The aggregate row: count, failures, rps, p50, p99 (ms)."""
    for row in _rows(Path(f"{csv_prefix}_stats.csv")):
        if row["Name"] == "Aggregated":
            return {
                "count": _num(row["Request Count"]),
                "failures": _num(row["Failure Count"]),
                "rps": _num(row["Requests/s"]),
                "p50": _num(row["50%"]),
                "p99": _num(row["99%"]),
            }
    return {}


def plot(csv_prefix: Path, png: Path, title: str) -> bool:
    """Throughput and p50/p99 over time from ``<prefix>_stats_history.csv``; False without data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in _rows(Path(f"{csv_prefix}_stats_history.csv")) if r["Name"] == "Aggregated"]
    if not rows:
        return False
    start = _num(rows[0]["Timestamp"])
    t = [_num(r["Timestamp"]) - start for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(t, [_num(r["Requests/s"]) for r in rows], label="requests/s")
    top.plot(t, [_num(r["Failures/s"]) for r in rows], label="failures/s", color="red")
    top.set_ylabel("per second")
    top.legend(loc="upper left")
    users = top.twinx()
    users.plot(t, [_num(r["User Count"]) for r in rows], color="grey", linestyle=":", label="users")
    users.set_ylabel("users")
    bottom.plot(t, [_num(r["50%"]) for r in rows], label="p50")
    bottom.plot(t, [_num(r["99%"]) for r in rows], label="p99")
    bottom.set_ylabel("latency ms (10 s window)")
    bottom.set_xlabel("seconds")
    bottom.legend(loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return True
