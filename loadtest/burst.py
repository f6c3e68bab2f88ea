"""A cheap burst generator: N requests fired at once on N connections opened beforehand.

Locust needs ~0.6 ms of CPU per request, so on 2 cores it cannot emit 5,500 requests
"at once"; this does: it opens every connection first (not timed), then writes every
request in one loop and reads the answers as they come. Reported: the time from the
first write to the last answer, the answers by status, and the generator's own CPU.
(No per-request latency: a single-threaded generator reads the answers after it has
written every request, so its clock says more about itself than about the server.)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Burst:
    requests: int
    seconds: float  # first write -> last answer
    statuses: dict[int, int] = field(default_factory=dict)
    accepted_ids: list[str] = field(default_factory=list)  # "id" / "order_id" of each 2xx answer
    errors: int = 0
    generator_cpu_s: float = 0.0

    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "answered_all_s": round(self.seconds, 3),
            "per_second": round(self.per_second()),
            "statuses": dict(sorted(self.statuses.items())),
            "errors": self.errors,
            "generator_cpu_s": round(self.generator_cpu_s, 2),
        }


async def _open(
    host: str, port: int, n: int, at_once: int = 256
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for start in range(0, n, at_once):  # a listen backlog takes a few hundred SYNs at a time
        batch = [asyncio.open_connection(host, port) for _ in range(min(at_once, n - start))]
        connections.extend(await asyncio.gather(*batch))
    return connections


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next((int(v) for k, _, v in (h.partition(b":") for h in lines[1:]) if k.lower() == b"content-length"), 0)
    return status, await reader.readexactly(length) if length else b""


async def fire(base_url: str, method: str, path: str, body: Callable[[int], bytes], n: int) -> Burst:
    """``n`` requests at once; ``body(i)`` makes the i-th request's JSON body."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    connections = await _open(host, port, n)
    payloads = []
    for i in range(n):
        data = body(i)
        payloads.append(
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
    burst = Burst(n, 0.0)

    async def one(reader: asyncio.StreamReader) -> None:
        try:
            status, data = await asyncio.wait_for(_answer(reader), timeout=60)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            burst.errors += 1
            return
        burst.statuses[status] = burst.statuses.get(status, 0) + 1
        answer = json.loads(data) if 200 <= status < 300 and data else {}
        accepted_id = answer.get("order_id") or answer.get("id")
        if accepted_id:
            burst.accepted_ids.append(str(accepted_id))

    cpu = time.process_time()
    started = time.perf_counter()
    for (_, writer), payload in zip(connections, payloads, strict=True):
        writer.write(payload)
    await asyncio.gather(*(one(reader) for reader, _ in connections))
    burst.seconds = time.perf_counter() - started
    burst.generator_cpu_s = time.process_time() - cpu
    for _, writer in connections:
        writer.close()
    return burst
