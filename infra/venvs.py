"""The two virtualenvs the deployment tooling needs, on the Lambda runtime's Python.

- ``.venv-lambda`` runs ``chalice package``: Chalice targets the Python it runs on
  and vendors wheels for it, so it must be the runtime's version (python3.11 can no
  longer be created on AWS since 2026-07-31).
- ``.venv-ministack-full`` runs MiniStack with its ``full`` extra (SAM transform). Its
  Lambda functions run on this interpreter, so it is kept apart from the app's venv.

Both are created on first use and reinstalled when their requirements change (the
same stamp scheme as ``./surge``).

Example::

    python = ensure_venv(REPO / ".venv-lambda", REPO / "requirements-lambda.txt")
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_RUNTIME = f"python{LAMBDA_PYTHON_VERSION}"
LAMBDA_VENV = REPO / ".venv-lambda"
MINISTACK_VENV = REPO / ".venv-ministack-full"


class NoLambdaPython(RuntimeError):
    pass


def lambda_python() -> str:
    """An interpreter of the Lambda runtime's version: $LAMBDA_PYTHON, ``python3.12`` on
    PATH, or one installed by pyenv."""
    candidates = [os.environ.get("LAMBDA_PYTHON", ""), shutil.which(f"python{LAMBDA_PYTHON_VERSION}") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    version = LAMBDA_PYTHON_VERSION
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        try:
            version = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=20, check=True,
            ).stdout.strip()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        if version == LAMBDA_PYTHON_VERSION:
            return candidate
    raise NoLambdaPython(
        f"no Python {LAMBDA_PYTHON_VERSION} found (the Lambda runtime {LAMBDA_RUNTIME}): "
        f"install one (e.g. `pyenv install {LAMBDA_PYTHON_VERSION}`) or set LAMBDA_PYTHON"
    )


def _stamp(requirements: Path) -> str:
    text = requirements.read_text()
    if "-r requirements.txt" in text:
        text += (REPO / "requirements.txt").read_text()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_venv(directory: Path, requirements: Path) -> Path:
    """Create ``directory`` on the Lambda Python and install ``requirements``; return its python."""
    python = directory / "bin" / "python"
    stamp_file = directory / ".stamp"
    stamp = _stamp(requirements)
    lock_dir = REPO / "build"
    lock_dir.mkdir(exist_ok=True)
    with (lock_dir / f"{directory.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs share the venv
        if python.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
            return python
        _install(directory, python, requirements)
        stamp_file.write_text(stamp + "\n")
    return python


def _install(directory: Path, python: Path, requirements: Path) -> None:
    if not python.exists():
        subprocess.run([lambda_python(), "-m", "venv", str(directory)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requirements)],
        check=True, cwd=REPO,
    )  # fmt: skip


def lambda_venv() -> Path:
    return ensure_venv(LAMBDA_VENV, REPO / "requirements-lambda.txt")


def ministack_venv() -> Path:
    return ensure_venv(MINISTACK_VENV, REPO / "requirements-ministack-full.txt")


RUNTIME_PROVIDED = ("boto3==1.44.5",)  # what the Lambda Python runtime has besides the stdlib


def lambda_runtime_site() -> Path:
    """A directory with only what the Lambda runtime provides (boto3), for import tests
    that must not see anything else."""
    target = REPO / "build" / "lambda-runtime-site"
    stamp = hashlib.sha256(" ".join(RUNTIME_PROVIDED).encode()).hexdigest()[:16]
    stamp_file = target / ".stamp"
    python = lambda_venv()
    with (REPO / "build" / "lambda-runtime-site.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp_file.exists() and stamp_file.read_text().strip() == stamp):
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(target),
                 *RUNTIME_PROVIDED],
                check=True,
            )  # fmt: skip
            stamp_file.write_text(stamp + "\n")
    return target
