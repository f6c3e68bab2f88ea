"""infra/localstack/setup.sh: a machine without Python >= 3.13 gets exit code 3 and a reason.

The contract conftest turns that code into a skip, so it must be exact.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from functions.runtime.localstack import NO_PYTHON, SETUP_SCRIPT

SYSTEM_PATH = "/usr/bin:/bin"


def run_setup(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    if any(shutil.which(name, path=SYSTEM_PATH) for name in ("python3.13", "python3.14")):
        pytest.skip("this machine's system Python is new enough: the no-Python path cannot be reached")
    return subprocess.run(
        ["bash", str(SETUP_SCRIPT)],
        env={"PATH": SYSTEM_PATH, "HOME": str(tmp_path), "LOCALSTACK_VENV": str(tmp_path / "venv"), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_no_python_313_means_exit_code_3_and_a_reason(tmp_path: Path) -> None:
    result = run_setup(tmp_path)
    assert result.returncode == NO_PYTHON, result.stderr
    assert "no Python >= 3.13 found" in result.stderr
    assert not (tmp_path / "venv").exists(), "nothing is created when it cannot run"


def test_an_older_python_offered_explicitly_is_refused(tmp_path: Path) -> None:
    assert sys.version_info < (3, 13), "the app's venv is 3.11; this test needs an older Python to offer"
    result = run_setup(tmp_path, LOCALSTACK_PYTHON=sys.executable)
    assert result.returncode == NO_PYTHON, result.stderr
