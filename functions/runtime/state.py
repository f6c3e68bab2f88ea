"""What a running ``./surge up`` tells the rest of the machine, in files under ``var/``.

- ``var/stack.json``: where the stack is (gateway, SQS endpoint, Redis, MySQL, queue
  prefix) and a salted hash of its admin key (never the key). The operator commands
  read it to act on that stack by default.
- ``var/runtime.json``: its processes (restarts, last exit) and active faults; the
  gateway serves it in ``GET /health`` (``runtime``), so the dashboard shows it.

``SURGE_VAR`` moves the directory (tests run stacks of their own side by side).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from functions.config import Settings, get_settings
from functions.errors import Forbidden, Unauthorized

REPO = Path(__file__).resolve().parents[2]
RUNTIME_FILE_ENV = "SURGE_RUNTIME_FILE"  # set for the stack's own processes (the gateway's /health)
_ROUNDS = 100_000


def var_dir() -> Path:
    return Path(Settings.from_env().var_dir or REPO / "var")


def stack_file() -> Path:
    return var_dir() / "stack.json"


def runtime_file() -> Path:
    return var_dir() / "runtime.json"


def fingerprint(key: str) -> str:
    """A salted, slow hash of the admin key: enough to check a key, useless to read one."""
    if not key:
        return ""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), bytes.fromhex(salt), _ROUNDS).hex()
    return f"pbkdf2-sha256${_ROUNDS}${salt}${digest}"


def key_matches(key: str, stored: str) -> bool:
    try:
        _, rounds, salt, digest = stored.split("$")
        candidate = hashlib.pbkdf2_hmac("sha256", key.encode(), bytes.fromhex(salt), int(rounds)).hex()
    except ValueError:
        return False
    return hmac.compare_digest(candidate, digest)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic (readers never see half a file) and private to this user (it names the databases)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class StackState:
    pid: int
    gateway: str
    sqs_endpoint_url: str
    queue_prefix: str
    redis_url: str
    redis_prefix: str
    mysql_url: str
    aws_region: str
    admin_key_fingerprint: str
    started_at: float
    chaos: bool = False  # started with --chaos: its dependencies are reached through fault proxies

    def env(self) -> dict[str, str]:
        """The variables that point this process's Settings at the stack."""
        return {
            "SQS_ENDPOINT_URL": self.sqs_endpoint_url,
            "QUEUE_PREFIX": self.queue_prefix,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.redis_prefix,
            "MYSQL_URL": self.mysql_url,
            "AWS_REGION": self.aws_region,
        }

    def check_admin_key(self, provided: str | None) -> None:
        """Raise unless ``provided`` is this stack's admin key (same rules as the admin routes)."""
        if not self.admin_key_fingerprint:
            raise Forbidden("admin actions are disabled: the running stack has no ADMIN_KEY")
        if not provided:
            raise Unauthorized("this action needs the admin key")
        if not key_matches(provided, self.admin_key_fingerprint):
            raise Forbidden("the admin key is not the running stack's")

    def save(self, path: Path | None = None) -> None:
        write_json(path or stack_file(), asdict(self))


def running_stack(path: Path | None = None) -> StackState | None:
    """The stack a live ``./surge up`` wrote down, or ``None`` (none, or its process is gone)."""
    data = read_json(path or stack_file())
    if not data:
        return None
    try:
        state = StackState(**data)
    except TypeError:
        return None
    return state if pid_alive(state.pid) else None


def forget_stack(pid: int, path: Path | None = None) -> None:
    """Remove the stack file, if it is still this process's."""
    path = path or stack_file()
    data = read_json(path)
    if data and data.get("pid") == pid:
        with contextlib.suppress(OSError):
            path.unlink()


def read_runtime() -> dict[str, Any] | None:
    """The stack's runtime status for ``/health``; ``None`` outside ``./surge up`` (e.g. on Lambda)."""
    path = get_settings().runtime_file
    if not path:
        return None
    data = read_json(Path(path))
    if data is not None:
        data["age_s"] = round(time.time() - float(data.get("updated", time.time())), 1)
    return data


READY_DIR_ENV = "SURGE_READY_DIR"  # set for the stack's own processes


def announce_ready(role: str) -> None:
    """A worker process of the gateway has loaded the app: the supervisor may retire the old one."""
    directory = get_settings().ready_dir
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / f"{role}-{os.getppid()}-{os.getpid()}").touch()


def is_ready(role: str, pid: int) -> bool:
    """Whether a worker of server process ``pid`` announced itself (see ``announce_ready``)."""
    directory = Settings.from_env().ready_dir
    return bool(directory) and any(Path(directory).glob(f"{role}-{pid}-*"))
