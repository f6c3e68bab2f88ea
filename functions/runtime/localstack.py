"""LocalStack-core as a plain process (no Docker, no account token) for SQS fidelity checks.

``infra/localstack/setup.sh`` builds ``.venv-localstack`` (Python >= 3.13); this module
starts ``python -m localstack.runtime.main`` from it on 127.0.0.1 and stops it by PID.

Usage (it starts a process, so it is no doctest)::

    python = ensure_venv()                      # None: no Python >= 3.13 here, skip
    process = start_localstack(python, port=free_port(), log_path=Path("var/log/localstack.log"))
    ...                                         # SQS at http://127.0.0.1:<port>
    stop_localstack(process)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from functions.runtime.emulator import REPO, stop_process, wait_for_sqs

SETUP_SCRIPT = REPO / "infra" / "localstack" / "setup.sh"
NO_PYTHON = 3  # setup.sh's exit code when no Python >= 3.13 can be found


class LocalStackUnavailable(RuntimeError):
    """No Python >= 3.13 on this machine: LocalStack-core 2026.3.0 cannot run here."""


def ensure_venv() -> Path:
    """Create ``.venv-localstack`` when missing or stale; return its python."""
    result = subprocess.run(["bash", str(SETUP_SCRIPT)], cwd=REPO, capture_output=True, text=True)
    if result.returncode == NO_PYTHON:
        raise LocalStackUnavailable(result.stderr.strip())
    if result.returncode != 0:
        raise RuntimeError(f"{SETUP_SCRIPT} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return REPO / result.stdout.strip().splitlines()[-1]


def localstack_env(port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The settings that make LocalStack run outside Docker, SQS only, on 127.0.0.1:``port``.

    Each was checked by leaving it out (docs/docker.md has what happens then).
    """
    return {
        **(base if base is not None else os.environ),
        "SERVICES": "sqs",  # load nothing else
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",  # default is :4566 on all interfaces
        "GATEWAY_SERVER": "hypercorn",  # the default (twisted) binds 0.0.0.0, ignoring the host
        "OVERRIDE_IN_DOCKER": "0",  # else it believes it is in a container and writes /var/lib/localstack
        "SQS_ENDPOINT_STRATEGY": "path",  # queue urls http://host:port/queue/<region>/<account>/<name>
        "LOCALSTACK_HOST": f"127.0.0.1:{port}",  # ...with this host (default localhost.localstack.cloud)
        "DNS_ADDRESS": "0",  # no DNS server of its own (it would try to bind port 53)
        "SKIP_SSL_CERT_DOWNLOAD": "1",  # no call to api.localstack.cloud at start
        "DISABLE_EVENTS": "1",  # no analytics
    }


def start_localstack(python: Path, port: int, log_path: Path, timeout: float = 60) -> subprocess.Popen[bytes]:
    """Start LocalStack on 127.0.0.1:``port`` and wait until SQS answers."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            env=localstack_env(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_sqs(f"http://127.0.0.1:{port}", process, timeout=timeout)
    except BaseException:
        stop_localstack(process)
        raise
    return process


def stop_localstack(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL: its shutdown sometimes hangs after 'Stopping all services'."""
    stop_process(process, timeout)
