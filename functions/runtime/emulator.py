"""The embedded SQS emulator (MiniStack) for machines without Docker or AWS.

It lives in its own virtualenv (``.venv-ministack``), so it can never lend the app a
package the app forgot to declare.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from functions.adapters.sqs import sqs_client
from functions.config import Settings

REPO = Path(__file__).resolve().parents[2]
MINISTACK_BIN = REPO / ".venv-ministack" / "bin" / "ministack"
# the ASGI app uvicorn serves: MiniStack's own, behind the front that answers SQS JSON calls directly
EMULATOR_APP = "functions.runtime.ministack_sqs:app"
MINISTACK_APP = "ministack.app:app"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now (a bind, not a connect: it also
    sees listeners on 0.0.0.0)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no owner
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_ministack(
    port: int, log_path: Path, state_dir: Path | None = None, app: str | None = None
) -> subprocess.Popen[bytes]:
    """Start MiniStack bound to 127.0.0.1:``port`` and wait until SQS answers.

    With ``state_dir`` its queues (messages, in-flight ones and DLQs included) are saved
    there on a graceful stop (SIGTERM) and loaded again on the next start. ``app``: the ASGI
    app to serve; by default ``EMULATOR_APP``, or ``MINISTACK_APP`` with MINISTACK_SQS_DIRECT=0."""
    settings = Settings.from_env()
    binary = Path(settings.ministack_bin or MINISTACK_BIN)
    app = app or (EMULATOR_APP if settings.ministack_sqs_direct else MINISTACK_APP)
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: run ./surge setup (or set SQS_ENDPOINT_URL)")
    env = {
        **os.environ,
        "BIND_HOST": "127.0.0.1",  # else it listens on 0.0.0.0
        "GATEWAY_PORT": str(port),
        "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0",
    }
    if state_dir is not None:
        env.update(PERSIST_STATE="1", STATE_DIR=str(state_dir))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        ministack_command(binary, port, app), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    wait_for_sqs(f"http://127.0.0.1:{port}", process)
    return process


def ministack_command(binary: Path, port: int, app: str = EMULATOR_APP) -> list[str]:
    """MiniStack's ASGI app on uvicorn (httptools, uvloop) where its venv has them: half the CPU
    per request of MiniStack's own hypercorn server; else MiniStack's own entry point. ``app`` is
    MiniStack's behind ``functions.runtime.ministack_sqs``, which answers SQS JSON calls directly
    (``MINISTACK_APP``: MiniStack's own alone).

    >>> ministack_command(Path("/nowhere/bin/ministack"), 4566)
    ['/nowhere/bin/ministack']
    """
    uvicorn = binary.with_name("uvicorn")
    if not uvicorn.exists():
        return [str(binary)]
    return [
        str(uvicorn), app, "--app-dir", str(REPO),
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        "--timeout-keep-alive", "75",  # as MiniStack configures hypercorn
        "--timeout-graceful-shutdown", "5",  # a long poll must not hold up a stop
    ]  # fmt: skip


def wait_for_sqs(endpoint: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    client = sqs_client(endpoint, "us-east-1")
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"SQS emulator exited with {process.returncode}")
        try:
            client.list_queues()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; a no-op once it has exited."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
