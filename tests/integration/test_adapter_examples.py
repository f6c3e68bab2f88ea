"""The docstring examples of the adapters, run against the real Redis, MySQL and SQS."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_doctests import LIVE, run_examples


@pytest.mark.parametrize("name", sorted(LIVE))
def test_the_examples_of_an_adapter_run_against_real_services(surge_app: Any, name: str) -> None:
    settings = surge_app.settings
    globs = {
        "client": surge_app.redis,
        "prefix": f"{settings.redis_prefix}examples:",
        "mysql_url": settings.mysql_url,
        "db": surge_app.db,
        "sqs": surge_app.sqs,
        "queue": settings.queue_name("payments"),
    }
    failed, attempted = run_examples(name, globs)
    assert attempted > 0 and failed == 0
