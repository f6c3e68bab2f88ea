"""CPU per accepted payment of the whole stack, for two or more configurations in one run.

    python -m loadtest.cpu_ab --variant SQS_WIRE=0 --variant SQS_WIRE=1 [--rate 550] [--seconds 20]

Each variant (environment overrides, comma-separated ``KEY=VALUE``) gets a fresh stack of
its own (``loadtest.harness.own_stack``: emulator, gateway, worker) and ``POST /payment``
at a constant ``--rate`` for ``--seconds``; the CPU time of every stack process (gateway,
worker, SQS emulator, MariaDB, Redis) is read before the load and after the worker has
drained the queue, and divided by the payments accepted. CPU time, not wall time: other
work on the machine changes it little, so the ratio between variants is what to read.
By default it works in the load-test namespace; ``--use-env`` keeps MYSQL_URL, REDIS_URL,
REDIS_PREFIX and QUEUE_PREFIX as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from loadtest.harness import StackShape, use_namespace

STACK_GROUPS = ("gateway", "worker", "sqs", "mariadbd", "redis-server")


def run_variant(overrides: dict[str, str], rate: float, seconds: float) -> dict[str, Any]:
    from loadtest import harness
    from loadtest.bench import CLIENTS, CpuMeter, payment_body
    from loadtest.loadgen import Target, generate

    saved = {k: os.environ.get(k) for k in [*overrides, "SQS_ENDPOINT_URL"]}
    os.environ.update(overrides)
    try:
        with harness.own_stack(StackShape(), env=overrides) as base:
            meter = CpuMeter()
            before = meter.read()
            result = asyncio.run(
                generate(
                    Target.of(base), lambda: ("POST", "/payment", payment_body()), connections=CLIENTS,
                    seconds=seconds, rate=rate,
                )
            )  # fmt: skip
            harness.wait_drained(timeout=300)
            after = meter.read()
    finally:
        for key, value in saved.items():  # the next variant starts its own emulator again
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    accepted = result.statuses.get(202, 0) or 1
    cpu = {g: (after.get(g, 0) - before.get(g, 0)) / accepted * 1e6 for g in STACK_GROUPS}
    return {
        "accepted": accepted,
        "p50_ms": round(result.percentile(50), 2),
        "p99_ms": round(result.percentile(99), 2),
        "cpu_us": cpu,
        "total_us": sum(cpu.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--variant", action="append", required=True, help="KEY=VALUE,KEY=VALUE (repeat)")
    parser.add_argument("--rate", type=float, default=550)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--use-env", action="store_true")
    args = parser.parse_args(argv)
    use_namespace(args.use_env)
    rows = []
    for spec in args.variant:
        overrides = dict(item.split("=", 1) for item in spec.split(",") if item)
        print(f"variant {spec}: {args.rate:.0f} req/s for {args.seconds:.0f} s", file=sys.stderr, flush=True)
        rows.append((spec, run_variant(overrides, args.rate, args.seconds)))
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"CPU µs per accepted payment at {args.rate:.0f} req/s (load average at the end {load})")
    print("| variant | accepted | p50 ms | p99 ms | " + " | ".join(STACK_GROUPS) + " | total | vs first |")
    print("|---" * (len(STACK_GROUPS) + 6) + "|")
    first = rows[0][1]["total_us"] or 1
    for spec, row in rows:
        groups = " | ".join(f"{row['cpu_us'][g]:.0f}" for g in STACK_GROUPS)
        print(
            f"| {spec} | {row['accepted']} | {row['p50_ms']} | {row['p99_ms']} | {groups} | "
            f"{row['total_us']:.0f} | {first / row['total_us']:.2f}x less |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
