"""A small, cheap HTTP/1.1 load generator (asyncio, keep-alive, one request per connection at a time).

Locust spends several times more CPU per request than the gateway it measures; on a
2-core machine that shared budget decides the result. This client keeps its own share
small and measures it (``cpu_seconds``).

Example::

    result = asyncio.run(generate(Target("127.0.0.1", 8000), lambda: ("POST", "/payment", body),
                                  connections=64, seconds=10, rate=550))
    result.per_second(), result.percentile(99)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Request = tuple[str, str, bytes | None]  # method, path, JSON body


@dataclass(frozen=True)
class Target:
    host: str
    port: int

    @classmethod
    def of(cls, base_url: str) -> Target:
        hostport = base_url.split("://", 1)[-1].rstrip("/")
        host, _, port = hostport.partition(":")
        return cls(host, int(port or 80))


@dataclass
class Result:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    # (seconds since start, status, latency ms, parsed body or None) when keep_bodies
    samples: list[tuple[float, int, float, Any]] = field(default_factory=list)

    def count(self, status: int) -> int:
        return self.statuses[status]

    def per_second(self, status: int | None = None) -> float:
        n = sum(self.statuses.values()) if status is None else self.statuses[status]
        return n / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def _encode(target: Target, request: Request) -> bytes:
    method, path, body = request
    head = f"{method} {path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def generate(
    target: Target,
    next_request: Callable[[], Request],
    *,
    connections: int,
    seconds: float,
    rate: float | None = None,
    keep_bodies: bool = False,
    stop_when: Callable[[Result], bool] | None = None,
    on_tick: Callable[[float], Awaitable[None]] | None = None,
) -> Result:
    """Closed loop on ``connections`` connections; at most ``rate`` requests/s in total when given."""
    result = Result()
    start = time.perf_counter()
    cpu_start = time.process_time()
    deadline = start + seconds
    issued = 0

    async def slot() -> bool:
        """Wait for this request's turn at a constant rate; False when the time is up."""
        nonlocal issued
        if rate is None:
            return time.perf_counter() < deadline
        due = start + issued / rate
        issued += 1
        if due >= deadline:
            return False
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            while await slot():
                if stop_when is not None and stop_when(result):
                    return
                sent = time.perf_counter()
                try:
                    status, body = await _exchange(reader, writer, _encode(target, next_request()))
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(target.host, target.port)
                    continue
                took = (time.perf_counter() - sent) * 1000
                result.statuses[status] += 1
                result.latencies_ms.append(took)
                if keep_bodies:
                    parsed = json.loads(body) if body[:1] == b"{" else None
                    result.samples.append((sent - start, status, took, parsed))
        finally:
            writer.close()

    async def ticker() -> None:
        while on_tick is not None and time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
            await on_tick(time.perf_counter() - start)

    tick = asyncio.create_task(ticker())
    await asyncio.gather(*(connection() for _ in range(connections)))
    tick.cancel()
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu_start
    return result
