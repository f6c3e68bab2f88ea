"""Keeps the stack's processes running, as Lambda keeps a function invocable.

A process that exits while the stack is up is restarted after a backoff (0.25 s, doubling
while it keeps crashing fast, at most 10 s), logged, and counted in ``var/runtime.json``
(served by ``GET /health`` as ``runtime``). Only ``stop()`` ends them for good.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.runtime.emulator import stop_process
from functions.runtime.state import write_json

FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 10.0
STABLE_AFTER_S = 10.0  # a process that lived this long starts its backoff over

Starter = Callable[[], "subprocess.Popen[bytes]"]


@dataclass
class Supervised:
    name: str
    start: Starter
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.time)
    restarts: int = 0
    reloads: int = 0
    last_exit: int | None = None
    last_exit_at: float | None = None
    crashes_in_a_row: int = 0
    restart_at: float | None = None

    def status(self) -> dict[str, Any]:
        running = self.process.poll() is None
        return {
            "pid": self.process.pid if running else None,
            "state": "running" if running else "restarting",
            "restarts": self.restarts,
            "reloads": self.reloads,
            "last_exit": self.last_exit,
            "last_exit_at": self.last_exit_at,
            "up_since": self.started if running else None,
        }


def log(message: str) -> None:
    print(f"[surge] {message}", file=sys.stderr, flush=True)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Whatever the dead process left behind in its session (granian's worker processes)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class Supervisor:
    def __init__(self, status_path: Path, extra: Callable[[], dict[str, Any]] | None = None):
        self._path = status_path
        self._extra = extra or dict
        self.children: list[Supervised] = []
        self._retiring: list[subprocess.Popen[bytes]] = []  # replaced, finishing their work

    def add(self, name: str, start: Starter) -> Supervised:
        child = Supervised(name, start, start())
        self.children.append(child)
        self.write_status()
        return child

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return next(c.process for c in self.children if c.name == name)

    def write_status(self) -> None:
        status = {"processes": {c.name: c.status() for c in self.children}, "updated": time.time(), **self._extra()}
        write_json(self._path, status)

    def reload(
        self,
        name: str,
        retire: signal.Signals,
        ready: Callable[[subprocess.Popen[bytes]], bool] | None = None,
        timeout: float = 60,
    ) -> None:
        """New code for ``name``: a fresh process starts; once ``ready`` says it serves, the old
        one gets ``retire`` (and finishes what it has in hand) -- no moment without a process."""
        child = next(c for c in self.children if c.name == name)
        new = child.start()
        deadline = time.monotonic() + timeout
        while ready is not None and not ready(new) and new.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        old, child.process, child.started = child.process, new, time.time()
        old.send_signal(retire)
        self._retiring.append(old)
        child.reloads += 1
        self.write_status()

    def tick(self) -> None:
        """Notice exits, restart what is due; call it often (every 0.1-0.5 s)."""
        now = time.time()
        changed = False
        self._retiring = [p for p in self._retiring if p.poll() is None]
        for child in self.children:
            code = child.process.poll()
            if code is not None and child.restart_at is None:
                kill_group(child.process)
                lived = now - child.started
                child.crashes_in_a_row = 0 if lived >= STABLE_AFTER_S else child.crashes_in_a_row + 1
                delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** max(0, child.crashes_in_a_row - 1))
                child.last_exit, child.last_exit_at, child.restart_at = code, now, now + delay
                log(f"{child.name} exited with {code} after {lived:.1f}s; restarting in {delay:.2f}s")
                changed = True
            if child.restart_at is not None and now >= child.restart_at:
                child.process, child.started, child.restart_at = child.start(), time.time(), None
                child.restarts += 1
                log(f"{child.name} restarted (pid {child.process.pid}, restart #{child.restarts})")
                changed = True
        if changed:
            self.write_status()

    def stop(self, order: list[str], timeout: float = 70) -> None:
        """SIGTERM each named process in ``order`` and wait for it (then SIGKILL)."""
        for process in self._retiring:
            stop_process(process, timeout)
        for name in order:
            for child in self.children:
                if child.name == name:
                    child.restart_at = None
                    stop_process(child.process, timeout)
                    kill_group(child.process)
