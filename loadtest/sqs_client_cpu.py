"""Client CPU per SQS call, boto3 against the wire client, in one run against one endpoint.

``python -m loadtest.sqs_client_cpu [--endpoint URL] [--calls N]`` — starts an embedded
MiniStack on a free port unless ``--endpoint`` is given. It measures this process's CPU
time (``time.process_time``), not wall time, so a busy machine changes little; the
server's CPU is not counted. Prints µs per call for SendMessageBatch (1 and 10 entries),
ReceiveMessage and DeleteMessageBatch, and the ratio boto3 / wire.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from functions.adapters.sqs import sqs_client
from functions.adapters.sqs_wire import WireSqsClient
from functions.runtime.emulator import free_port, start_ministack, stop_process


def cpu_per_call(call: Callable[[], Any], calls: int) -> float:
    """Microseconds of this process's CPU per call (best of three rounds)."""
    call()  # warm: connection, url cache
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - start) / calls * 1e6)
    return best


def measure(client: Any, url: str, calls: int) -> dict[str, float]:
    body = '{"id":"01M7YA3ZKZHMZ04NK7EFV7WBTS","amount_cents":1250,"currency":"EUR"}'

    def entries(n: int) -> list[dict[str, Any]]:
        return [{"Id": str(i), "MessageBody": body, "MessageAttributes": {}} for i in range(n)]

    def receive_delete() -> None:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        handles = [m["ReceiptHandle"] for m in got.get("Messages", [])]
        if handles:
            client.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
            )

    results = {
        "send_batch_1": cpu_per_call(lambda: client.send_message_batch(QueueUrl=url, Entries=entries(1)), calls),
        "send_batch_10": cpu_per_call(lambda: client.send_message_batch(QueueUrl=url, Entries=entries(10)), calls),
        # 10 received + 10 deleted per round: two calls
        "receive_10_and_delete_10": cpu_per_call(receive_delete, calls),
    }
    client.purge_queue(QueueUrl=url)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    process = None
    endpoint = args.endpoint
    if not endpoint:
        port = free_port()
        process = start_ministack(port, Path(tempfile.gettempdir()) / f"ministack-{port}.log")
        endpoint = f"http://127.0.0.1:{port}"
    try:
        boto = sqs_client(endpoint, "us-east-1")
        url = boto.create_queue(QueueName=f"cpu-bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        try:
            before = measure(boto, url, args.calls)
            after = measure(WireSqsClient(boto), url, args.calls)
        finally:
            boto.delete_queue(QueueUrl=url)
    finally:
        if process is not None:
            stop_process(process, 10)
    print(f"client CPU per call (µs, this process only), {args.calls} calls, best of 3")
    print(f"{'call':<28}{'boto3':>10}{'wire':>10}{'boto3/wire':>12}")
    for name, boto_us in before.items():
        wire_us = after[name]
        print(f"{name:<28}{boto_us:>10.0f}{wire_us:>10.0f}{boto_us / wire_us:>11.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
