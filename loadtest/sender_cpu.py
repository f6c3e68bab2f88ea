"""CPU per message of the gateway's ``Coalescer`` itself (queues, threads, hand-offs), no SQS.

``python -m loadtest.sender_cpu [--threads 16] [--messages 20000]`` — request threads send
through a coalescer to a fake target whose batch call waits like a network round trip
(the GIL released) and costs nothing; the process CPU per message is the sender's own.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from functions.batching import Coalescer


class NetworkLikeTarget:
    def __init__(self, round_trip_s: float) -> None:
        self._round_trip = round_trip_s

    def send_batch(self, queue: str, entries: list[Any]) -> list[str | Exception]:
        time.sleep(self._round_trip)
        return [f"m{i}" for i in range(len(entries))]


def cpu_per_message(threads: int, messages: int, round_trip_s: float = 0.0005) -> tuple[float, float]:
    target = NetworkLikeTarget(round_trip_s)
    sender = Coalescer(lambda entries: target.send_batch("q", entries), max_wait_ms=1, senders=2)
    per_thread = messages // threads

    def client() -> None:
        for _ in range(per_thread):
            sender.submit(("body", None))

    sender.submit(("warm", None))
    start = time.process_time()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    cpu = time.process_time() - start
    sent = per_thread * threads
    return cpu / sent * 1e6, sent / max(sender.batches - 1, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    us, per_batch = cpu_per_message(args.threads, args.messages)
    print(f"Coalescer: {us:.1f} µs CPU per message, {per_batch:.1f} messages per batch, {args.threads} threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
