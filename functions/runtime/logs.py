"""``./surge logs [<function>] [-f]``: the stack's JSON log files, readable for people.

Under ``./surge up`` each process writes JSON lines to ``var/log/<process>.log`` (the
gateway: ``api_handler``; the workers: one ``function`` per line). This prints them as
``time LEVEL function message key=value…``, oldest first; ``-f`` keeps following.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from functions.runtime.state import var_dir

PROCESSES = ("gateway", "workers")
_HIDDEN = {"level", "location", "message", "timestamp", "service", "function", "exception", "exception_name"}


def log_file(process: str) -> Path:
    return var_dir() / "log" / f"{process}.log"


def readable(line: str, function: str | None = None) -> str | None:
    """One JSON log line for people; ``None`` when it belongs to another function."""
    try:
        record: Any = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):  # granian's own lines, a crash's traceback
        return None if function else line.rstrip("\n")
    if function and record.get("function") != function:
        return None
    stamp = str(record.get("timestamp", ""))[11:23]
    extras = " ".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in record.items() if k not in _HIDDEN
    )
    text = f"{stamp} {record.get('level', ''):7} {record.get('function', '-'):22} {record.get('message', '')}"
    text = f"{text}  {extras}" if extras else text
    if record.get("exception"):
        text += "\n    " + str(record["exception"]).replace("\n", "\n    ")
    return text


def _stamp(line: str) -> str:
    try:
        return str(json.loads(line).get("timestamp", ""))
    except (ValueError, AttributeError):
        return ""


def tail(function: str | None, lines: int) -> list[str]:
    """The last ``lines`` lines of every process's log, merged in time order."""
    records: list[str] = []
    for process in PROCESSES:
        path = log_file(process)
        if path.exists():
            records += path.read_text(errors="replace").splitlines()[-20 * lines :]
    shown = [text for line in sorted(records, key=_stamp) if (text := readable(line, function)) is not None]
    return shown[-lines:]


def follow(function: str | None, out: TextIO = sys.stdout, poll_s: float = 0.2) -> Iterator[None]:
    """Print new lines as they are written (a restarted process's file is reopened)."""
    offsets = {p: log_file(p).stat().st_size if log_file(p).exists() else 0 for p in PROCESSES}
    while True:
        for process in PROCESSES:
            path = log_file(process)
            if not path.exists():
                continue
            if path.stat().st_size < offsets[process]:
                offsets[process] = 0  # truncated: start over
            with path.open(errors="replace") as handle:
                handle.seek(offsets[process])
                for line in handle:
                    if not line.endswith("\n"):
                        break  # half written: next time
                    offsets[process] += len(line.encode())
                    if (text := readable(line, function)) is not None:
                        print(text, file=out, flush=True)
        yield
        time.sleep(poll_s)
