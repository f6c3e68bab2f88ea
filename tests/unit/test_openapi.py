"""The published OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from app import app
from functions.api_docs import spec


def served() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, entries in app.routes.items() for method in entries}


def documented() -> set[tuple[str, str]]:
    return {(path, method) for path, operations in spec()["paths"].items() for method in operations}


def test_every_route_is_documented_and_nothing_else() -> None:
    assert spec()["openapi"].startswith("3.")
    assert documented() == served()


def test_path_parameters_match_the_route_templates() -> None:
    for path, operations in spec()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in operations.values():
            declared = set()
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    parameter = spec()["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
                if parameter["in"] == "path":
                    declared.add(parameter["name"])
            assert declared == names, path


def test_every_reference_resolves() -> None:
    text = str(spec())
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in spec()["components"][ref[0]], ref


ROUTES_AND_DOC = """
import json
from app import app
from functions.api_docs import spec
print(json.dumps(["/payment/direct" in app.routes, "/payment/direct" in spec()["paths"], "/payment" in app.routes]))
"""


@pytest.mark.parametrize(("flag", "present"), [("", False), ("0", False), ("1", True)])
def test_the_direct_payment_route_exists_only_when_enabled(flag: str, present: bool) -> None:
    """Off by default (the AWS stack has no MySQL-in-the-request route); the load-test stacks turn it on."""
    env = {**os.environ, "PAYMENT_DIRECT_ENABLED": flag}
    result = subprocess.run([sys.executable, "-c", ROUTES_AND_DOC], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [present, present, True]
