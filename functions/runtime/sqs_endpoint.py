"""Which SQS the local stack runs against (``./surge up --sqs``): the embedded MiniStack
(default, pure Python), or LocalStack-core as a plain process (host mode, Python >= 3.13).
``SQS_ENDPOINT_URL`` set to a running endpoint (a LocalStack container, AWS) wins over both.

``start_sqs(kind, port, log_dir)`` returns the process and a label for ``./surge up``'s output;
the kinds:

>>> CHOICES
('ministack', 'localstack')
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from functions.runtime.emulator import start_ministack
from functions.runtime.localstack import LocalStackUnavailable, ensure_venv, start_localstack

CHOICES = ("ministack", "localstack")


def start_sqs(
    kind: str, port: int, log_dir: Path, state_dir: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the chosen emulator on 127.0.0.1:``port``; exit with what to do when it cannot run.
    MiniStack keeps its queues in ``state_dir`` across a stop and a start (LocalStack host mode
    keeps nothing: use a LocalStack container with a volume for that)."""
    if kind == "localstack":
        try:
            python = ensure_venv()
        except LocalStackUnavailable as exc:
            raise SystemExit(
                f"--sqs localstack: {exc}\nOr run LocalStack yourself (docker compose up localstack) "
                "and set SQS_ENDPOINT_URL=http://127.0.0.1:4566."
            ) from exc
        return start_localstack(python, port, log_dir / "localstack.log"), "LocalStack (host mode)"
    if kind != "ministack":
        raise SystemExit(f"--sqs must be one of {', '.join(CHOICES)}, not {kind!r}")
    return start_ministack(port, log_dir / "ministack.log", state_dir), "embedded MiniStack"
