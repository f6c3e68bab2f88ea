"""Redis connection, key naming and Lua scripts loaded from ``lua/*.lua``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import redis

from functions.errors import DependencyDown

LUA_DIR = Path(__file__).parent / "lua"


def connect(url: str) -> redis.Redis:
    """A thread-safe client with short timeouts: a slow Redis must fail fast, not hang."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        health_check_interval=30,
        max_connections=256,
    )


@cache
def lua_source(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


def script(client: redis.Redis, name: str) -> redis.commands.core.Script:
    """A registered script: EVALSHA, falling back to EVAL after a Redis restart."""
    return client.register_script(lua_source(name))


@contextmanager
def redis_down() -> Iterator[None]:
    """Turn any Redis error inside the block into ``DependencyDown("redis")``."""
    try:
        yield
    except redis.RedisError as exc:
        raise DependencyDown("redis", exc) from exc
