"""TLS to the RDS Proxy and ElastiCache is chosen by URL; the session settings by Settings."""

from __future__ import annotations

import redis

from functions.adapters.mysql import MySqlTarget
from functions.adapters.redis_client import connect


def test_tls_and_session_settings_come_from_the_url_and_settings() -> None:
    plain = MySqlTarget.from_url("mysql://root@127.0.0.1:3306/surge")
    assert (plain.tls, plain.ssl_context(), plain.session_init) == (False, None, True)
    tls = MySqlTarget.from_url("mysql://proxy:3306/surge?ssl=true", session_init=False)
    assert tls.tls and tls.ssl_context() is not None and tls.session_init is False
    assert tls.database == "surge"
    assert not MySqlTarget.from_url("mysql://proxy/surge?ssl=false").tls


def test_rediss_is_redis_over_tls_with_the_auth_token() -> None:
    client = connect("rediss://:s3cr3t@master.example.cache.amazonaws.com:6379/0")
    pool = client.connection_pool
    assert pool.connection_class is redis.SSLConnection
    assert pool.connection_kwargs["password"] == "s3cr3t"
    assert connect("redis://127.0.0.1:6379/0").connection_pool.connection_class is redis.Connection
