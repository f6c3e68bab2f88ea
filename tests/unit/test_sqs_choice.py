"""``./surge up --sqs``: which emulator starts, and a clear message when LocalStack cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.cli import parser
from functions.runtime import sqs_endpoint
from functions.runtime.localstack import LocalStackUnavailable


def test_up_takes_the_sqs_choice() -> None:
    assert parser().parse_args(["up"]).sqs == "ministack"
    assert parser().parse_args(["up", "--sqs", "localstack"]).sqs == "localstack"
    with pytest.raises(SystemExit):
        parser().parse_args(["up", "--sqs", "moto"])


def test_without_python_313_localstack_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def unavailable() -> Path:
        raise LocalStackUnavailable("no Python >= 3.13 found")

    monkeypatch.setattr(sqs_endpoint, "ensure_venv", unavailable)
    with pytest.raises(SystemExit) as exit_:
        sqs_endpoint.start_sqs("localstack", 1, tmp_path)
    message = str(exit_.value)
    assert "no Python >= 3.13" in message and "SQS_ENDPOINT_URL" in message


def test_localstack_starts_from_its_own_venv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[tuple[object, ...]] = []

    def start(*args: object) -> str:
        started.append(args)
        return "process"

    monkeypatch.setattr(sqs_endpoint, "ensure_venv", lambda: Path("/venv/bin/python"))
    monkeypatch.setattr(sqs_endpoint, "start_localstack", start)
    process, label = sqs_endpoint.start_sqs("localstack", 4700, tmp_path)
    assert str(process) == "process" and label == "LocalStack (host mode)"
    assert started == [(Path("/venv/bin/python"), 4700, tmp_path / "localstack.log")]
