"""The examples in the docstrings of ``functions/`` run, so they cannot go stale. Those of
the adapters that need a live Redis, MySQL or SQS run in
``tests/integration/test_adapter_examples.py``; every other module's run here."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
# their examples talk to real services
LIVE = {
    "functions.adapters.idempotency",
    "functions.adapters.mysql",
    "functions.adapters.mysql_orders",
    "functions.adapters.redis_metrics",
    "functions.adapters.redis_ratelimit",
    "functions.adapters.redis_stock",
    "functions.adapters.sqs",
}


def with_examples() -> list[str]:
    """The modules under ``functions/`` whose docstrings hold ``>>>`` examples."""
    names = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        if ">>>" in path.read_text():
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def run_examples(name: str, globs: dict[str, object] | None = None) -> doctest.TestResults:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, globs=None, extraglobs=globs or {}):
        runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", [n for n in with_examples() if n not in LIVE])
def test_the_examples_of_a_module_run(name: str) -> None:
    failed, attempted = run_examples(name)
    assert attempted > 0 and failed == 0


def test_examples_are_doctests_not_prose() -> None:
    """``Example::`` blocks are never run: write examples as ``>>>`` lines."""
    prose = [str(p.relative_to(ROOT)) for p in FUNCTIONS.rglob("*.py") if re.search(r"\bExample::", p.read_text())]
    assert prose == []


def test_the_live_list_names_modules_with_examples() -> None:
    assert sorted(LIVE) == sorted(n for n in with_examples() if n in LIVE)
