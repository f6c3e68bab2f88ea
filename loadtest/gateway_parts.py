"""What each round trip of ``POST /payment`` costs the gateway, at a fixed rate.

``python -m loadtest.gateway_parts [--rate 550] [--seconds 10]`` serves ``loadtest.null_chalice``
on granian exactly as the gateway is served, once bare and once per added round trip (one Redis
EVALSHA; one SQS send, direct or coalesced as the gateway does; Redis and the batched send
together, which is what a real payment does; and the Redis call made by the sender thread once
per batch instead), and prints the gateway's and the SQS emulator's CPU µs per request.
Starts its own MiniStack; uses Redis db 14 under its own prefix.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("", "redis", "sqs", "batch", "redis+batch", "batch+counted")


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--rate", type=float, default=550, help="requests/s (0: closed loop, 64 connections)")
    args.add_argument("--seconds", type=float, default=10)
    args.add_argument("--threads", type=int, default=16, help="granian blocking threads (the bench's gateway: 16)")
    args.add_argument("--only", choices=VARIANTS, nargs="*", help="these variants only ('' is none)")
    opts = args.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import psutil

    from functions.adapters.redis_client import connect
    from functions.adapters.redis_keyspace import delete_redis_keys
    from functions.adapters.sqs import sqs_client
    from functions.runtime.emulator import free_port, start_ministack, stop_process
    from loadtest.bench import CLIENTS, measure, null_gateway, payment_body
    from loadtest.loadgen import Target

    sqs_port = free_port()
    emulator = start_ministack(sqs_port, REPO / "var" / "log" / "gateway-parts-ministack.log")
    endpoint = f"http://127.0.0.1:{sqs_port}"
    client = sqs_client(endpoint, "us-east-1")
    queue_url = client.create_queue(QueueName="gateway-parts")["QueueUrl"]
    redis_url, prefix = "redis://127.0.0.1:6379/14", f"gateway-parts-{os.getpid()}:"
    emulator_process = psutil.Process(emulator.pid)

    def emulator_cpu() -> float:
        return sum(emulator_process.cpu_times()[:2])

    print(
        f"POST /payment at {opts.rate or 'max'} req/s, {opts.seconds:.0f} s each, {opts.threads} threads:"
        " CPU µs per request"
    )
    print(f"{'round trips':<14} {'gateway':>8} {'emulator':>9} {'req/s':>7} {'p99 ms':>7}")
    try:
        for work in VARIANTS if opts.only is None else opts.only:
            env = {
                "NULL_WORK": work, "SQS_ENDPOINT_URL": endpoint, "NULL_SQS_QUEUE": "gateway-parts",
                "REDIS_URL": redis_url, "REDIS_PREFIX": prefix,
            }  # fmt: skip
            with null_gateway("loadtest.null_chalice:application", env, opts.threads) as server:
                before, before_sqs = server.cpu_seconds(), emulator_cpu()
                figures = measure(
                    work, Target.of(server.base), lambda: ("POST", "/payment", payment_body()), connections=CLIENTS,
                    seconds=opts.seconds, **({"rate": opts.rate} if opts.rate else {}),
                )  # fmt: skip
                row = figures.row(202)
                n = max(row["requests"], 1)
                gateway_us = (server.cpu_seconds() - before) / n * 1e6
                sqs_us = (emulator_cpu() - before_sqs) / n * 1e6
                print(
                    f"{work or 'none':<14} {gateway_us:>8.0f} {sqs_us:>9.0f} {row['accepted_per_s']:>7.0f}"
                    f" {row['p99_ms']:>7}",
                    flush=True,
                )
            client.purge_queue(QueueUrl=queue_url)
    finally:
        stop_process(emulator, 10)
        delete_redis_keys(connect(redis_url), prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
