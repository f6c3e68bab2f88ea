"""Secrets from AWS Secrets Manager through Powertools Parameters (``SecretsProvider``),
cached for ``SECRET_MAX_AGE_SECONDS``: a rotated secret is picked up by the next read
after that, without a cold start.

On AWS the functions get ``MYSQL_URL`` without credentials (the RDS Proxy endpoint)
and ``MYSQL_SECRET_ARN``, a secret in the JSON shape RDS writes
(``{"username": ..., "password": ..., ...}``). The settings put the credentials into the
URL at start (every consumer of ``Settings.mysql_url`` works unchanged), and the MySQL
adapter asks ``mysql_credentials`` again for each new connection, so a reconnect after a
rotation uses the new password.

>>> class SecretsManager:  # answers as boto3's secretsmanager client does
...     def get_secret_value(self, SecretId: str) -> dict[str, str]:
...         return {"SecretString": '{"username": "surge_app", "password": "s3cr@t"}'}
>>> mysql_url_with_secret("mysql://proxy.example:3306/surge", "arn:aws:secretsmanager:…", client=SecretsManager())
'mysql://surge_app:s3cr%40t@proxy.example:3306/surge'
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

# how long a secret read is reused: the longest a rotated password stays unknown here
SECRET_MAX_AGE_SECONDS = 300

__all__ = ["SECRET_MAX_AGE_SECONDS", "GetParameterError", "mysql_credentials", "read_secret_string"]


@cache
def _provider(region: str | None, client: Any = None) -> SecretsProvider:
    """One provider (one cache) per region, or per given client."""
    if client is None:
        import boto3

        client = boto3.session.Session().client("secretsmanager", region_name=region)
    return SecretsProvider(boto3_client=client)


def read_secret_string(secret_id: str, client: Any = None, region: str | None = None, *, force: bool = False) -> str:
    """The secret's string, cached for ``SECRET_MAX_AGE_SECONDS`` (``force``: read it now).

    ``client`` is a boto3 ``secretsmanager`` client (one per region is made if None).
    Raises ``GetParameterError`` when Secrets Manager cannot be read.
    """
    provider = _provider(region, client)
    return str(provider.get(secret_id, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=force))


def secret_string(secret_id: str, region: str) -> str:
    """The secret's string (cached), or ``DependencyDown("secretsmanager")`` when it cannot be read."""
    from functions.errors import DependencyDown

    try:
        return read_secret_string(secret_id, region=region)
    except GetParameterError as exc:
        raise DependencyDown("secretsmanager", exc) from exc


def read_secret(
    secret_arn: str, client: Any = None, region: str | None = None, *, force: bool = False
) -> dict[str, Any]:
    """The secret's JSON (the shape RDS writes)."""
    secret = json.loads(read_secret_string(secret_arn, client, region, force=force))
    if not isinstance(secret, dict) or "username" not in secret:
        raise ValueError(f"secret {secret_arn} must be a JSON object with username and password")
    return secret


def mysql_credentials(secret_arn: str, client: Any = None, region: str | None = None) -> tuple[str, str]:
    """(username, password) as the secret holds them now (within the cache's max age)."""
    secret = read_secret(secret_arn, client, region)
    return str(secret["username"]), str(secret.get("password", ""))


def with_credentials(url: str, username: str, password: str) -> str:
    """``url`` with its user and password replaced (both URL-quoted)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mysql_url_with_secret(url: str, secret_arn: str, client: Any = None, region: str | None = None) -> str:
    return with_credentials(url, *mysql_credentials(secret_arn, client, region))
