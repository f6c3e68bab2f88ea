"""MySQL credentials from a Secrets Manager secret (MYSQL_SECRET_ARN)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.adapters.mysql import MySqlTarget
from functions.adapters.secrets import mysql_url_with_secret, with_credentials
from functions.config import Settings

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:surge/mysql-AbCdEf"


class FakeSecretsManager:
    def __init__(self, secret: Any):
        self.secret = secret
        self.asked: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.asked.append(SecretId)
        return {"SecretString": json.dumps(self.secret)}


def test_credentials_from_the_secret_go_into_the_url() -> None:
    fake = FakeSecretsManager({"username": "surge_app", "password": "p@ss:w/rd%", "engine": "mysql"})
    url = mysql_url_with_secret("mysql://proxy.internal:3306/surge", ARN, client=fake)
    target = MySqlTarget.from_url(url)
    assert fake.asked == [ARN]
    assert (target.user, target.password) == ("surge_app", "p@ss:w/rd%")
    assert (target.host, target.port, target.database) == ("proxy.internal", 3306, "surge")


def test_credentials_in_the_url_are_replaced() -> None:
    url = with_credentials("mysql://old:older@db:3307/x?ssl=1", "new", "")
    assert url == "mysql://new:@db:3307/x?ssl=1"


def test_a_secret_without_username_is_refused() -> None:
    with pytest.raises(ValueError, match="username"):
        mysql_url_with_secret("mysql://db/surge", ARN, client=FakeSecretsManager({"password": "x"}))


def test_settings_read_the_secret_once_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_read(secret_arn: str, client: Any = None, region: str | None = None) -> dict[str, str]:
        calls.append(f"{secret_arn}@{region}")
        return {"username": "app", "password": "pw"}

    monkeypatch.setattr("functions.adapters.secrets.read_secret", fake_read)
    monkeypatch.setenv("MYSQL_URL", "mysql://proxy:3306/surge")
    monkeypatch.setenv("MYSQL_SECRET_ARN", ARN)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    settings = Settings.from_env()
    assert calls == [f"{ARN}@eu-west-1"]
    assert settings.mysql_url == "mysql://app:pw@proxy:3306/surge"
    assert settings.mysql_secret_arn == ARN


def test_without_a_secret_the_url_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSQL_URL", "mysql://root@127.0.0.1:3306/surge_x")
    monkeypatch.delenv("MYSQL_SECRET_ARN", raising=False)
    assert Settings.from_env().mysql_url == "mysql://root@127.0.0.1:3306/surge_x"
