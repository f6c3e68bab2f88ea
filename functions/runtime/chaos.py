"""Faults on demand: ``./surge chaos sqs|redis|mysql down 10s`` or ``... latency 200ms 30s``.

``./surge up --chaos`` starts one ``FaultProxy`` per dependency and points its processes
at them; ``./surge chaos`` writes the wanted fault to ``var/chaos.json``; the stack applies
it within 0.1 s, lifts it when its time is up, and lists it in ``GET /health``
(``runtime.faults``). Without ``--chaos`` nothing is proxied: no cost at all.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from functions.config import Settings
from functions.runtime.faultproxy import FaultProxy, target_of, with_port
from functions.runtime.state import read_json, var_dir, write_json

DEPENDENCIES = ("sqs", "redis", "mysql")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def chaos_file() -> Path:
    return var_dir() / "chaos.json"


def parse_duration(text: str) -> float:
    """``"200ms"`` -> 0.2, ``"10s"`` -> 10.0, ``"1m"`` -> 60.0 (a bare number is seconds)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (e.g. 200ms, 10s, 1m)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def request_fault(dependency: str, mode: str, seconds: float, latency_s: float = 0.0) -> dict[str, Any]:
    """Ask the running stack for a fault; returns every fault now wanted."""
    wanted = read_json(chaos_file()) or {}
    wanted[dependency] = {"mode": mode, "latency_ms": round(latency_s * 1000), "until": time.time() + seconds}
    write_json(chaos_file(), wanted)
    return wanted


def clear_faults() -> None:
    write_json(chaos_file(), {})


class Chaos:
    """The proxies of a ``./surge up --chaos`` and the faults applied to them."""

    def __init__(self, settings: Settings):
        self._urls = {"sqs": settings.sqs_endpoint_url or "", "redis": settings.redis_url, "mysql": settings.mysql_url}
        defaults = {"sqs": 4566, "redis": 6379, "mysql": 3306}
        self.proxies = {dep: FaultProxy(target_of(self._urls[dep], defaults[dep])) for dep in DEPENDENCIES}
        self._active: dict[str, dict[str, Any]] = {}
        clear_faults()  # a fault asked of an earlier stack is not this one's

    def env(self) -> dict[str, str]:
        """What the stack's processes use to reach the dependencies: the proxies."""
        names = {"sqs": "SQS_ENDPOINT_URL", "redis": "REDIS_URL", "mysql": "MYSQL_URL"}
        return {names[dep]: with_port(self._urls[dep], proxy.port) for dep, proxy in self.proxies.items()}

    def apply(self) -> list[str]:
        """Bring the proxies in line with ``var/chaos.json``; returns what changed (for the log)."""
        now = time.time()
        wanted = {
            dep: fault
            for dep, fault in (read_json(chaos_file()) or {}).items()
            if dep in self.proxies and isinstance(fault, dict) and float(fault.get("until", 0)) > now
        }
        changes = []
        for dep, proxy in self.proxies.items():
            fault = wanted.get(dep)
            if fault == self._active.get(dep):
                continue
            if fault is None:
                proxy.latency = 0.0
                proxy.restore()
                changes.append(f"chaos: {dep} restored")
            elif fault["mode"] == "down":
                proxy.latency = 0.0
                proxy.cut()
                changes.append(f"chaos: {dep} down for {fault['until'] - now:.0f}s")
            else:
                proxy.restore()
                proxy.latency = fault["latency_ms"] / 1000
                changes.append(f"chaos: {dep} +{fault['latency_ms']}ms for {fault['until'] - now:.0f}s")
        self._active = wanted
        return changes

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {
            "faults": {
                dep: {
                    "mode": f["mode"],
                    "latency_ms": f["latency_ms"],
                    "until": f["until"],
                    "left_s": round(f["until"] - now, 1),
                }
                for dep, f in self._active.items()
            }
        }

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()
