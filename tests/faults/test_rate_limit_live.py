"""The rate limit on the real gateway: per client, 429 with Retry-After, others unaffected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.faults.world import World
from tests.support import http

pytestmark = pytest.mark.e2e


def test_a_burst_from_one_address_is_limited_and_an_api_key_client_is_not(world: Callable[..., World]) -> None:
    w = world(RATE_LIMIT_PER_SECOND="0.5", RATE_LIMIT_BURST="3")
    answers = [http("GET", f"{w.base}/statistics") for _ in range(5)]
    assert [status for status, _, _ in answers] == [200, 200, 200, 429, 429]
    _, headers, body = answers[-1]
    assert int(headers["retry-after"]) >= 1 and body["code"] == "rate_limited"
    assert body["request_id"] == headers["x-request-id"]
    assert http("GET", f"{w.base}/statistics", headers={"X-Api-Key": "partner-1"})[0] == 200
    assert http("GET", f"{w.base}/health")[0] == 200  # never limited
    limited = http("POST", f"{w.base}/payment", {"amount": "1.00"})
    assert limited[0] == 429 and w.depth() == 0  # a refused payment is never enqueued


def test_disabled_by_explicit_config_lets_a_burst_through(world: Callable[..., World]) -> None:
    w = world(RATE_LIMIT_ENABLED="0", RATE_LIMIT_PER_SECOND="0.5", RATE_LIMIT_BURST="1")
    assert {http("GET", f"{w.base}/statistics")[0] for _ in range(10)} == {200}
