"""MySQL credentials from a Secrets Manager secret (MYSQL_SECRET_ARN)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
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


class RotatingSecret(FakeSecretsManager):
    """A secret whose password changes when ``rotate`` is called."""

    def rotate(self, password: str) -> None:
        self.secret = {**self.secret, "password": password}


def test_secret_reads_are_cached_for_max_age_then_a_rotation_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.adapters import secrets

    fake = RotatingSecret({"username": "app", "password": "old"})
    assert secrets.mysql_credentials(ARN, client=fake) == ("app", "old")
    fake.rotate("new")
    # within max_age: the cached value, no second call to Secrets Manager
    assert secrets.mysql_credentials(ARN, client=fake) == ("app", "old")
    assert fake.asked == [ARN]
    later = datetime.now() + timedelta(seconds=secrets.SECRET_MAX_AGE_SECONDS + 1)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return later

    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.base.datetime", Later)  # max_age elapsed
    assert secrets.mysql_credentials(ARN, client=fake) == ("app", "new")
    assert fake.asked == [ARN, ARN]


def test_each_new_mysql_connection_asks_for_the_current_credentials() -> None:
    passwords = iter(["old", "new"])
    target = MySqlTarget.from_url("mysql://proxy:3306/surge", credentials=lambda: ("app", next(passwords)))
    assert target.with_credentials().password == "old"
    assert target.with_credentials().password == "new"  # e.g. the reconnect after a rotation


def test_the_wired_mysql_target_reads_the_secret_through_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.bootstrap import mysql_target

    fake = RotatingSecret({"username": "app", "password": "pw1"})
    monkeypatch.setattr("functions.adapters.secrets._provider", lambda region, client=None: _real_provider(fake))
    target = mysql_target(Settings(mysql_url="mysql://app:pw0@proxy:3306/surge", mysql_secret_arn=ARN))
    assert target.with_credentials().password == "pw1"


def _real_provider(client: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)
