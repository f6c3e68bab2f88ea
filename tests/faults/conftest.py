"""Fixtures for the fault tests: ``world`` builds a stack of the test's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.faults.world import World, make_world


@pytest.fixture
def world(prepared: Any) -> Iterator[Callable[..., World]]:
    """``world(proxied=("sqs",), VISIBILITY_TIMEOUT="3")`` → a started ``World``."""
    made: list[World] = []

    def make(proxied: tuple[str, ...] = (), start: bool = True, **env: str) -> World:
        instance = make_world(prepared, proxied, **env)
        made.append(instance)
        if start:
            instance.start()
        return instance

    yield make
    for instance in made:
        instance.close()
