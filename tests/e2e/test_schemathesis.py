"""Property-based API testing with schemathesis against the running gateway.

Every operation in ``/openapi.json`` gets generated requests, valid and invalid ones
(bounded examples, so the whole run stays well under a minute): no 5xx, every error a
JSON 4xx carrying its request id, and each response matches the documented status
codes, content type, headers and schema. (schemathesis' ``from_fixture`` does not work
with pytest 9, so each test drives one operation's Hypothesis strategy itself.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from functions.api_docs import spec

pytestmark = pytest.mark.e2e

OPERATIONS = [(method.upper(), path) for path, operations in spec()["paths"].items() for method in operations]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}


@pytest.fixture(scope="module")
def api_schema(stack: str) -> Any:
    return schemathesis.openapi.from_url(f"{stack}/openapi.json")


# JSON Schema cannot say "a number with at most 2 decimals" (multipleOf 0.01 on floats
# generates 0.5700000000000001), and unknown headers are ignored by design, so
# schemathesis' own data acceptance/rejection guesses are off; everything else is on.
EXCLUDED = [checks.positive_data_acceptance, checks.negative_data_rejection]


def check(case: Any) -> None:
    response = case.call_and_validate(excluded_checks=EXCLUDED)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/json"]
        assert response.json()["request_id"] == response.headers["x-request-id"][0]


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_keeps_its_contract(api_schema: Any, method: str, path: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    if mode is GenerationMode.NEGATIVE and not spec()["paths"][path][method.lower()].get("parameters"):
        pytest.skip("nothing to make invalid")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        check(case)

    run()
