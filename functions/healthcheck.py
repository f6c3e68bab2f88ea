"""Health: each dependency up or down, with its latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from functions.errors import DependencyDown


def probe(check: Callable[[], object]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means down; say which (the cause, when an adapter wrapped it)
        cause = exc.cause if isinstance(exc, DependencyDown) and exc.cause is not None else exc
        return {"status": "down", "error": type(cause).__name__, "latency_ms": _ms(start)}
    return {"status": "up", "latency_ms": _ms(start)}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


class HealthService:
    """Each named check is called; one that raises means its dependency is down.

    >>> from tests.fakes import FakeKeyspace, FakeTables
    >>> tables = FakeTables()
    >>> tables.down = True
    >>> healthy, body = HealthService({"redis": FakeKeyspace().ping, "mysql": tables.ping}).check()
    >>> healthy, body["status"], body["dependencies"]["mysql"]["status"], body["dependencies"]["mysql"]["error"]
    (False, 'degraded', 'down', 'ConnectionError')
    """

    def __init__(self, checks: Mapping[str, Callable[[], object]]):
        self._checks = dict(checks)

    def check(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, body): healthy when every dependency answered."""
        results = {name: probe(check) for name, check in self._checks.items()}
        healthy = all(r["status"] == "up" for r in results.values())
        return healthy, {"status": "ok" if healthy else "degraded", "dependencies": results}
