"""MySQL credentials from AWS Secrets Manager, read once per process (a Lambda cold start).

On AWS the functions get ``MYSQL_URL`` without credentials (the RDS Proxy endpoint)
and ``MYSQL_SECRET_ARN``, a secret in the JSON shape RDS writes
(``{"username": ..., "password": ..., ...}``). The credentials are put into the URL,
so every consumer of ``Settings.mysql_url`` (the adapters, ``surge prepare``) works
unchanged.

Example::

    mysql_url_with_secret("mysql://proxy.example:3306/surge", arn)
    # -> "mysql://surge_app:s3cr%40t@proxy.example:3306/surge"
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit


def read_secret_string(secret_id: str, client: Any = None, region: str | None = None) -> str:
    """The secret's string; ``client`` is a boto3 ``secretsmanager`` client (made here if None)."""
    if client is None:
        import boto3

        client = boto3.session.Session().client("secretsmanager", region_name=region)
    return str(client.get_secret_value(SecretId=secret_id)["SecretString"])


def secret_string(secret_id: str, region: str) -> str:
    """The secret's string, or ``DependencyDown("secretsmanager")`` when it cannot be read."""
    import botocore.exceptions

    from functions.errors import DependencyDown

    try:
        return read_secret_string(secret_id, region=region)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise DependencyDown("secretsmanager", exc) from exc


def read_secret(secret_arn: str, client: Any = None, region: str | None = None) -> dict[str, Any]:
    """The secret's JSON (the shape RDS writes)."""
    secret = json.loads(read_secret_string(secret_arn, client, region))
    if not isinstance(secret, dict) or "username" not in secret:
        raise ValueError(f"secret {secret_arn} must be a JSON object with username and password")
    return secret


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
    secret = read_secret(secret_arn, client, region)
    return with_credentials(url, str(secret["username"]), str(secret.get("password", "")))
