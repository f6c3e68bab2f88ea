"""What each round trip of ``POST /payment`` costs the gateway, at a fixed rate.

``python -m loadtest.gateway_parts [--rate 550] [--seconds 10]`` serves ``loadtest.null_chalice``
on granian exactly as the gateway is served, once bare and once per added round trip (one Redis
EVALSHA; one SQS send, direct or through the BatchingSender; Redis and the batched send
together, which is what a real payment does), and prints the gateway's and the SQS emulator's
CPU µs per request. Starts its own MiniStack; uses Redis db 14 under its own prefix.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("", "redis", "sqs", "batch", "redis+batch")


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--rate", type=float, default=550, help="requests/s (0: closed loop, 64 connections)")
    args.add_argument("--seconds", type=float, default=10)
    args.add_argument("--threads", type=int, default=16, help="granian blocking threads (the bench's gateway: 16)")
    args.add_argument("--only", choices=VARIANTS, nargs="*", help="these variants only ('' is none)")
    opts = args.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import psutil

    from functions.adapters.sqs import sqs_client
    from functions.runtime.emulator import free_port, start_ministack, stop_process
    from functions.runtime.stack import StackOptions, granian_command, wait_healthy
    from loadtest.bench import CLIENTS, measure, payment_body
    from loadtest.loadgen import Target

    sqs_port = free_port()
    emulator = start_ministack(sqs_port, REPO / "var" / "log" / "gateway-parts-ministack.log")
    endpoint = f"http://127.0.0.1:{sqs_port}"
    client = sqs_client(endpoint, "us-east-1")
    queue_url = client.create_queue(QueueName="gateway-parts")["QueueUrl"]
    prefix = f"gateway-parts-{os.getpid()}:"
    print(
        f"POST /payment at {opts.rate or 'max'} req/s, {opts.seconds:.0f} s each, {opts.threads} threads:"
        " CPU µs per request"
    )
    print(f"{'round trips':<14} {'gateway':>8} {'emulator':>9} {'req/s':>7} {'p99 ms':>7}")
    try:
        for work in VARIANTS if opts.only is None else opts.only:
            options = StackOptions(port=free_port(), gateway_workers=1, gateway_threads=opts.threads)
            env = {
                **os.environ, "NULL_WORK": work, "SQS_ENDPOINT_URL": endpoint, "NULL_SQS_QUEUE": "gateway-parts",
                "REDIS_URL": "redis://127.0.0.1:6379/14", "REDIS_PREFIX": prefix, "GRANIAN_BACKPRESSURE": "16384",
            }  # fmt: skip
            server = subprocess.Popen(
                granian_command("loadtest.null_chalice:application", options),
                env=env, cwd=REPO, start_new_session=True, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                base = f"http://127.0.0.1:{options.port}"
                if not wait_healthy(f"{base}/health", timeout=60):
                    raise RuntimeError(f"the null Chalice app ({work or 'bare'}) did not start")
                processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
                cpu = lambda group: sum(sum(p.cpu_times()[:2]) for p in group)  # noqa: E731
                sqs_process = [psutil.Process(emulator.pid)]
                before, before_sqs = cpu(processes), cpu(sqs_process)
                figures = measure(
                    work, Target.of(base), lambda: ("POST", "/payment", payment_body()), connections=CLIENTS,
                    seconds=opts.seconds, **({"rate": opts.rate} if opts.rate else {}),
                )  # fmt: skip
                row = figures.row(202)
                n = max(row["requests"], 1)
                gateway_us, sqs_us = (cpu(processes) - before) / n * 1e6, (cpu(sqs_process) - before_sqs) / n * 1e6
                print(
                    f"{work or 'none':<14} {gateway_us:>8.0f} {sqs_us:>9.0f} {row['accepted_per_s']:>7.0f}"
                    f" {row['p99_ms']:>7}",
                    flush=True,
                )
            finally:
                stop_process(server, 10)
            client.purge_queue(QueueUrl=queue_url)
    finally:
        stop_process(emulator, 10)
        import redis

        r = redis.Redis.from_url("redis://127.0.0.1:6379/14")
        for key in r.scan_iter(f"{prefix}*"):
            r.delete(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
