"""The admin key: constant-time check, and where the key comes from."""

from __future__ import annotations

import pytest

from functions.admin import secret as secrets
from functions.admin.auth import check_admin_key
from functions.config import Settings
from functions.errors import Forbidden, Unauthorized


def test_the_right_key_passes() -> None:
    check_admin_key("s3cret", "s3cret")


@pytest.mark.parametrize("provided", [None, ""])
def test_a_missing_key_is_401(provided: str | None) -> None:
    with pytest.raises(Unauthorized):
        check_admin_key(provided, "s3cret")


@pytest.mark.parametrize("provided", ["s3cre", "s3cret ", "S3CRET", "s3cret\x00", "sécret", "\udcff"])
def test_a_wrong_key_is_403(provided: str) -> None:
    with pytest.raises(Forbidden, match="wrong"):
        check_admin_key(provided, "s3cret")


def test_no_configured_key_disables_admin_even_for_an_empty_guess() -> None:
    for provided in (None, "", "anything"):
        with pytest.raises(Forbidden, match="disabled"):
            check_admin_key(provided, "")


def test_the_key_comes_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_KEY", "from-env")
    monkeypatch.setenv("ADMIN_KEY_SECRET_ID", "surge/admin")
    assert secrets.admin_key(Settings.from_env()) == "from-env"


def test_else_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def fake_secret(secret_id: str, region: str) -> str:
        asked.append((secret_id, region))
        return "from-secrets-manager"

    monkeypatch.delenv("ADMIN_KEY", raising=False)
    monkeypatch.setenv("ADMIN_KEY_SECRET_ID", "surge/admin")
    monkeypatch.setattr(secrets, "_secret_string", fake_secret)
    assert secrets.admin_key(Settings.from_env()) == "from-secrets-manager"
    assert asked == [("surge/admin", Settings.from_env().aws_region)]


def test_the_cli_refuses_a_redrive_without_the_key(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from functions.cli import main

    monkeypatch.setenv("ADMIN_KEY_SECRET_ID", "")
    monkeypatch.delenv("ADMIN_KEY", raising=False)
    assert main(["dlq", "redrive"]) == 3
    assert "disabled" in capsys.readouterr().err
    monkeypatch.setenv("ADMIN_KEY", "s3cret")
    assert main(["dlq", "redrive", "--admin-key", "guess"]) == 3
    assert "wrong" in capsys.readouterr().err
