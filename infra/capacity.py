"""Capacity plan: what 500, 5,000 and 50,000 payments/s imply for each setting and limit of
the AWS stack, from this project's own measurements (``docs/benchmarks.md``).

The per-payment costs are read from the latest ``./surge bench`` run in docs/benchmarks.md:
the API's p99 at a steady 550 req/s (how long one API invocation holds a Lambda
environment), and the CPU per payment of the worker, MariaDB and Redis at that rate.
Little's law turns a rate and a duration into concurrency; CPU per payment turns a rate
into cores. The AWS limits are the documented defaults of a region.

Example::

    .venv/bin/python -m infra.capacity            # prints the table
    .venv/bin/python -m infra.capacity --write    # refreshes it in docs/deploy.md
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "docs" / "benchmarks.md"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
BEGIN, END = "<!-- capacity:begin (infra/capacity.py --write) -->", "<!-- capacity:end -->"
RATES = (500, 5_000, 50_000)

# AWS defaults per region (Service Quotas; all but the Redis engine can be raised)
API_GATEWAY_ACCOUNT_RPS = 10_000  # API Gateway throttle quota per account and region
LAMBDA_ACCOUNT_CONCURRENCY = 1_000  # concurrent executions per account and region
LAMBDA_UNRESERVED_MINIMUM = 100  # AWS keeps this much unreserved
REDIS_ENGINE_CORES = 1  # Redis runs commands on one thread: one shard, one core
ESM_MAX_CONCURRENCY = 1_000  # the highest ScalingConfig.MaximumConcurrency
HEADROOM = 2.0  # size for twice the mean: bursts, retries, a slow MySQL minute
BATCH_SIZE = 50  # the payments worker's SQS batch (one MySQL transaction per batch)
BATCH_WINDOW_S = 1
MAX_COMMITS_PER_S = 500  # above this, grow the batch instead of the commit rate


def _stack_defaults() -> tuple[int, int, int]:
    """(ApiThrottleRate's default, ApiReservedConcurrency's default, store_payments' reserved
    concurrency in the prod stage)."""
    from infra.package import STATIC_MERGE_TEMPLATE, function_setting, load_config

    parameters = json.loads(STATIC_MERGE_TEMPLATE.read_text())["Parameters"]
    return (
        int(parameters["ApiThrottleRate"]["Default"]),
        int(parameters["ApiReservedConcurrency"]["Default"]),
        int(function_setting(load_config(), "prod", "store_payments", "reserved_concurrency")),
    )


DEFAULT_API_THROTTLE_RATE, DEFAULT_API_CONCURRENCY, DEFAULT_WORKER_CONCURRENCY = _stack_defaults()


@dataclass(frozen=True)
class Costs:
    """Per-payment costs measured by ``./surge bench`` at a steady 550 req/s."""

    api_p99_ms: float
    worker_us: float
    mysql_us: float
    redis_us: float
    source: str


def measured_costs(text: str | None = None) -> Costs:
    """The latest full run in docs/benchmarks.md: the first results section with the payment p99
    at 550 req/s and the ``payments_550`` CPU row (a section that summarises a run without its
    full tables is skipped)."""
    text = text if text is not None else BENCHMARKS.read_text()
    for section in text.split("### ")[1:]:
        title = section.splitlines()[0]
        p99 = re.search(r"\| (?:POST /payment )?p99 at 550 req/s \| ([\d.]+) ms", section)
        row = re.search(r"\| payments_550 \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", section)
        if p99 and row:
            _gateway, worker, _sqs, mysql, redis = (float(v) for v in row.groups())
            when = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", title)
            source = f"`./surge bench` of {when.group(0)}" if when else title
            return Costs(float(p99.group(1)), worker, mysql, redis, source)
    raise ValueError("docs/benchmarks.md: no run with a 'p99 at 550 req/s' and a 'payments_550' CPU row")


@dataclass(frozen=True)
class Plan:
    rate: int
    api_stage_rate: int
    api_stage_burst: int
    api_concurrency: int
    batch_size: int
    esm_concurrency: int
    lambda_total: int
    proxy_client_connections: int
    proxy_db_connections: int
    mysql_rows_per_s: int
    mysql_commits_per_s: int
    mysql_cores: float
    redis_core_share: float
    first_limit: str  # the first that breaks with the stack's defaults (or the nearest quota)
    first_limit_rate: int
    moved_by: str
    beyond_limit: str  # the first quota once the settings above are applied
    beyond_limit_rate: int
    beyond_moved_by: str


def plan(rate: int, costs: Costs) -> Plan:
    api_concurrency = math.ceil(rate * costs.api_p99_ms / 1000)
    batch = max(BATCH_SIZE, math.ceil(rate / MAX_COMMITS_PER_S / 10) * 10)
    esm = max(2, math.ceil(HEADROOM * rate * costs.worker_us / 1e6))
    reconcile = 1
    lambda_total = api_concurrency + esm + reconcile
    defaults, quotas = limits(costs)
    broken_default = [limit for limit in defaults if limit[1] <= rate]
    first = min(broken_default or defaults + quotas, key=lambda limit: limit[1])
    beyond = min(quotas, key=lambda limit: limit[1])
    return Plan(
        rate=rate,
        api_stage_rate=math.ceil(rate * 1.25),
        api_stage_burst=math.ceil(rate * 2.5),
        api_concurrency=api_concurrency,
        batch_size=batch,
        esm_concurrency=esm,
        lambda_total=lambda_total,
        proxy_client_connections=api_concurrency + esm + reconcile,
        proxy_db_connections=esm + reconcile,
        mysql_rows_per_s=rate,
        mysql_commits_per_s=math.ceil(rate / batch),
        mysql_cores=round(rate * costs.mysql_us / 1e6, 2),
        redis_core_share=round(rate * costs.redis_us / 1e6, 2),
        first_limit=first[0],
        first_limit_rate=first[1],
        moved_by=first[2],
        beyond_limit=beyond[0],
        beyond_limit_rate=beyond[1],
        beyond_moved_by=beyond[2],
    )


Limit = tuple[str, int, str]  # (what, the rate at which it breaks, what moves it)


def limits(costs: Costs) -> tuple[list[Limit], list[Limit]]:
    """(the stack's default settings, the account's quotas and single-node ceilings)."""
    worker_s = HEADROOM * costs.worker_us / 1e6  # worker seconds per payment, with headroom
    api_s = costs.api_p99_ms / 1000
    defaults = [
        (f"`ApiThrottleRate` default ({DEFAULT_API_THROTTLE_RATE:,} req/s)", DEFAULT_API_THROTTLE_RATE,
         "the `ApiThrottleRate` / `ApiThrottleBurst` parameters"),
        (f"`ApiReservedConcurrency` default ({DEFAULT_API_CONCURRENCY})", int(DEFAULT_API_CONCURRENCY / api_s),
         "the `ApiReservedConcurrency` parameter, within the RDS Proxy's connections"),
        (f"payments worker reserved concurrency ({DEFAULT_WORKER_CONCURRENCY})",
         int(DEFAULT_WORKER_CONCURRENCY / worker_s),
         "`reserved_concurrency` of `store_payments` in .chalice/config.json (the ESM cap follows)"),
    ]  # fmt: skip
    quotas = [
        (f"API Gateway account throttle ({API_GATEWAY_ACCOUNT_RPS:,} req/s)", API_GATEWAY_ACCOUNT_RPS,
         "a Service Quotas increase of the account's API Gateway throttle"),
        ("Redis engine thread (one shard)", int(REDIS_ENGINE_CORES * 1e6 / costs.redis_us),
         "shard the statistics and idempotency keys over a Redis cluster (an application change)"),
        (f"Lambda account concurrency ({LAMBDA_ACCOUNT_CONCURRENCY:,})",
         int((LAMBDA_ACCOUNT_CONCURRENCY - LAMBDA_UNRESERVED_MINIMUM) / (api_s + worker_s)),
         "a Service Quotas increase of Lambda concurrent executions"),
        (f"ESM MaximumConcurrency ceiling ({ESM_MAX_CONCURRENCY:,})", int(ESM_MAX_CONCURRENCY / worker_s),
         "a second payments queue and worker (shard by payment id)"),
    ]  # fmt: skip
    return defaults, quotas


def _first(p: Plan) -> str:
    if p.rate >= p.first_limit_rate:
        return f"**{p.first_limit}**, broken above {p.first_limit_rate:,}/s"
    return f"none (nearest: {p.first_limit} at {p.first_limit_rate:,}/s)"


def _beyond(p: Plan) -> str:
    state = "**broken**" if p.rate >= p.beyond_limit_rate else "holds"
    return f"{p.beyond_limit}: {state} (breaks at {p.beyond_limit_rate:,}/s)"


def render(costs: Costs | None = None) -> str:
    """The markdown table (and its inputs) for docs/deploy.md."""
    costs = costs or measured_costs()
    plans = [plan(rate, costs) for rate in RATES]
    header = "| | " + " | ".join(f"{p.rate:,} payments/s" for p in plans) + " |"
    rows: list[tuple[str, Callable[[Plan], str]]] = [
        ("`ApiThrottleRate` / `ApiThrottleBurst`", lambda p: f"{p.api_stage_rate:,} / {p.api_stage_burst:,}"),
        ("API Lambda concurrency (rate x p99) = `ApiReservedConcurrency` at least", lambda p: f"{p.api_concurrency:,}"),
        ("SQS batch size / window", lambda p: f"{p.batch_size} / {BATCH_WINDOW_S} s"),
        ("ESM `MaximumConcurrency` = worker reserved concurrency", lambda p: f"{p.esm_concurrency:,}"),
        ("Lambda concurrency in total (of 1,000 by default)", lambda p: f"{p.lambda_total:,}"),
        ("RDS Proxy client connections (worst case)", lambda p: f"{p.proxy_client_connections:,}"),
        ("RDS Proxy connections to MySQL (busy at once)", lambda p: f"{p.proxy_db_connections:,}"),
        ("MySQL rows/s (commits/s)", lambda p: f"{p.mysql_rows_per_s:,} ({p.mysql_commits_per_s:,})"),
        ("MySQL CPU (cores)", lambda p: f"{p.mysql_cores}"),
        ("Redis engine thread busy", lambda p: f"{p.redis_core_share:.0%}"),
        ("first limit to break with the stack's defaults", _first),
        ("what moves it", lambda p: p.moved_by if p.rate >= p.first_limit_rate else "-"),
        ("then, with the settings above", _beyond),
        ("what moves that", lambda p: p.beyond_moved_by),
    ]
    lines = [header, "|---|" + "---|" * len(plans)]
    lines += ["| " + label + " | " + " | ".join(cell(p) for p in plans) + " |" for label, cell in rows]
    inputs = (
        f"Inputs, from docs/benchmarks.md ({costs.source}): API p99 {costs.api_p99_ms} ms at 550 req/s; "
        f"CPU per payment: worker {costs.worker_us:g} µs, MySQL {costs.mysql_us:g} µs, Redis {costs.redis_us:g} µs. "
        f"Concurrency = rate x duration (Little's law); the workers are sized at {HEADROOM:g}x the mean."
    )
    return "\n".join([BEGIN, inputs, "", *lines, END])


def write_doc(path: Path = DEPLOY_DOC) -> None:
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    path.write_text(text[:start] + render() + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="refresh the table in docs/deploy.md")
    args = parser.parse_args(argv)
    if args.write:
        write_doc()
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
