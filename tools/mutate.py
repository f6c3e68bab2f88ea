"""``./surge mutate``: mutation testing of the modules that hold Surge's promises.

Cosmic Ray (pinned in requirements-mutate.txt, its own venv ``.venv-mutate``) changes one
thing at a time in a module (``<`` to ``<=``, ``+`` to ``-``, ``True`` to ``False``, a
number off by one, a ``break`` for a ``continue``…) and runs the tests that guard that
module; a mutant the tests do not notice "survives". Each module is mutated in a copy of
the working tree under ``var/mutate/``, never in place, against real Redis and MariaDB and
one MiniStack started for the run, like ``./surge test``.

    ./surge mutate                          # every module below (slow: an hour or more on 2 cores)
    ./surge mutate functions/money.py       # one module
    ./surge mutate --list                   # the modules and the tests that guard each

It prints, per module, the mutants killed and the survivors with their diff, writes the
same to ``var/mutate/report.md``, and exits 1 when fewer than ``--target`` % are killed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "var" / "mutate"
MUTATE_BIN = REPO / ".venv-mutate" / "bin"

ORDERS_INTEGRATION = [
    "tests/integration/test_orders_worker.py",
    "tests/integration/test_reservation_sweep.py",
    "tests/integration/test_checkout_api.py",
    "tests/integration/test_stock_gate.py",
]
# module -> the tests that guard it. Unit tests on the fakes first, then the integration tests:
# pytest stops at the first failure, so most mutants die in the unit tests within a second.
# The workers' entrypoints (functions/workers/orders.py, payments.py) are one line each that
# hands the batch to their service's step; the services below are mutated instead.
TARGETS: dict[str, list[str]] = {
    "functions/money.py": ["tests/unit/test_money.py", "tests/unit/test_money_roundtrip.py"],
    "functions/statistics/window.py": [
        "tests/unit/test_statistics_window.py",
        "tests/integration/test_payment_statistics.py",
    ],
    "functions/reconcile/reservations.py": [
        "tests/unit/test_reservation_sweep.py",
        "tests/integration/test_reservation_sweep.py",
    ],
    "functions/payments/model.py": [
        "tests/unit/test_payment_model.py",
        "tests/unit/test_payment_service.py",
        "tests/unit/test_worker_batch.py",
        "tests/unit/test_money_roundtrip.py",
        "tests/integration/test_payment_worker.py",
        "tests/integration/test_payment_api.py",
    ],
    "functions/checkout/model.py": [
        "tests/unit/test_checkout_model.py",
        "tests/unit/test_checkout_service.py",
        "tests/unit/test_orders_worker_failures.py",
        "tests/unit/test_reservation_sweep.py",
        "tests/unit/test_money_roundtrip.py",
        *ORDERS_INTEGRATION,
    ],
    # the services coalesce their sends with it (a gateway) or send one by one (a Lambda)
    "functions/batching.py": [
        "tests/unit/test_batching.py",
        "tests/unit/test_payment_service.py",
        "tests/unit/test_checkout_service.py",
    ],
    "functions/payments/service.py": [
        "tests/unit/test_payment_service.py",
        "tests/unit/test_worker_batch.py",
        "tests/integration/test_payment_api.py",
        "tests/integration/test_payment_worker.py",
        "tests/integration/test_poison_isolation.py",
        "tests/integration/test_unavailable.py",
    ],
    # the checkout service holds the orders worker's step (settle_batch) too
    "functions/checkout/service.py": [
        "tests/unit/test_checkout_service.py",
        "tests/unit/test_orders_worker_failures.py",
        "tests/unit/test_reservation_sweep.py",
        *ORDERS_INTEGRATION,
    ],
    "functions/workers/batch.py": [
        "tests/unit/test_worker_batch.py",
        "tests/integration/test_payment_worker.py",
        "tests/integration/test_orders_worker.py",
    ],
    # the local Lambda event source mappings: batches, windows, timeouts, turns, scaling signals
    "functions/runtime/pollers.py": [
        "tests/unit/test_lambda_limits.py",
        "tests/unit/test_local_runtime.py",
        "tests/integration/test_payment_worker.py",
        "tests/integration/test_orders_worker.py",
    ],
    # the adapters' behaviour lives in Redis and MariaDB: their tests are integration tests,
    # the adapter's own docstring examples against the real services first
    "functions/adapters/mysql_orders.py": [
        "tests/integration/test_mysql_orders_adapter.py",  # the adapter alone: fast
        "tests/unit/test_money_roundtrip.py",
        "tests/integration/test_adapter_examples.py",
        *ORDERS_INTEGRATION,
    ],
    "functions/adapters/mysql_payments.py": [
        "tests/integration/test_mysql_payments_adapter.py",  # the adapter alone: fast
        "tests/unit/test_money_roundtrip.py",
        "tests/integration/test_payment_worker.py",
        "tests/integration/test_payment_statistics.py",
    ],
    "functions/adapters/redis_stock.py": [
        "tests/integration/test_redis_stock_adapter.py",  # the adapter alone, Redis only: fast
        *ORDERS_INTEGRATION,
    ],
    "functions/adapters/redis_payments.py": [
        "tests/integration/test_redis_payments_adapter.py",  # the adapter alone, Redis only: fast
        "tests/integration/test_payment_statistics.py",
        "tests/integration/test_payment_api.py",
    ],
}
# Every pytest plugin the venv holds loads at start-up unless told not to (schemathesis alone
# costs ~2 s, paid again by each mutant); the suite needs only hypothesis's.
PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
PYTEST_PLUGINS = ["-p", "hypothesispytest"]


@dataclass
class Outcome:
    module: str
    killed: int
    survived: list[str]  # diffs
    other: int  # incompetent (the mutant cannot run) or skipped
    seconds: float
    type_only: int = 0  # mutants inside annotations, not run (see skip_type_only)

    @property
    def total(self) -> int:
        return self.killed + len(self.survived)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def copy_tree(dest: Path) -> None:
    """The working tree as it is (tracked and new files, not ignored ones), venvs linked."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    for name in files:
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    for venv in (".venv", ".venv-ministack"):
        (dest / venv).symlink_to((REPO / venv).resolve())


# A mutant can turn a bounded loop into one over millions of items (``-(-n // 60)`` made
# ``-(+n // 60)`` in a range): capped, it dies of MemoryError in a moment instead of eating
# the machine's memory until its timeout. The suite needs far less than this.
MEMORY_CAP_BYTES = 4 * 2**30


def config(module: str, tests: list[str], timeout: float) -> str:
    command = " ".join(["prlimit", f"--as={MEMORY_CAP_BYTES}", "--",
                        str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                        *PYTEST_PLUGINS, *tests])  # fmt: skip
    return "\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(module)}",
        f"timeout = {timeout}",
        "excluded-modules = []",
        f"test-command = {json.dumps(command)}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
    ])  # fmt: skip


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) (line, column) of every annotation: parameters, returns, annotated names."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.arg):
            annotation = node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotation = node.returns
        elif isinstance(node, ast.AnnAssign):
            annotation = node.annotation
        else:
            continue
        if annotation is not None and annotation.end_lineno is not None and annotation.end_col_offset is not None:
            start = (annotation.lineno, annotation.col_offset)
            spans.append((start, (annotation.end_lineno, annotation.end_col_offset)))
    return spans


def skip_type_only(session: Path, source: str) -> int:
    """Mark the mutants inside annotations as skipped; how many.

    Every module starts with ``from __future__ import annotations``: an annotation is a
    string nobody evaluates at run time, so ``str | None`` made ``str & None`` changes no
    behaviour (mypy, not a test, checks annotations). Cosmic Ray runs only the mutants
    without a result.
    """
    spans = annotation_spans(source)
    with sqlite3.connect(session) as db:
        specs = db.execute("SELECT job_id, start_pos_row, start_pos_col, end_pos_row, end_pos_col FROM mutation_specs")
        jobs = [(job,) for job, *pos in specs if any(a <= (pos[0], pos[1]) and (pos[2], pos[3]) <= b for a, b in spans)]
        db.executemany(
            "INSERT OR REPLACE INTO work_results (worker_outcome, output, test_outcome, diff, job_id) "
            "VALUES ('SKIPPED', NULL, NULL, NULL, ?)",
            jobs,
        )
    return len(jobs)


def mutate(module: str, tests: list[str], env: dict[str, str], timeout: float) -> Outcome:
    name = module.replace("/", "_").removesuffix(".py")
    tree = WORK / name
    copy_tree(tree)
    (tree / "cosmic-ray.toml").write_text(config(module, tests, timeout))
    session = tree / "session.sqlite"
    started = time.monotonic()

    def cosmic(*args: str) -> subprocess.CompletedProcess[str]:
        binary = str(MUTATE_BIN / "cosmic-ray")
        return subprocess.run([binary, *args], cwd=tree, env=env, capture_output=True, text=True)

    # Cosmic Ray runs each mutant's tests with PYTHONDONTWRITEBYTECODE: without bytecode made
    # once here, every run compiles every module (and pytest rewrites every test) again.
    # Hash-checked, so the mutated module is never run from a stale .pyc.
    python = str(REPO / ".venv" / "bin" / "python")
    compile_all = [python, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", "functions", "app.py"]
    subprocess.run(compile_all, cwd=tree, check=True)
    subprocess.run([python, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", *PYTEST_PLUGINS, *tests],
                   cwd=tree, env=env, check=True, capture_output=True)  # fmt: skip
    init = cosmic("init", "cosmic-ray.toml", str(session), "--force")
    if init.returncode:
        raise SystemExit(f"{module}: cosmic-ray init failed\n{init.stderr}")
    subprocess.run([str(MUTATE_BIN / "cr-filter-pragma"), str(session)], cwd=tree, env=env, check=True)
    source = (tree / module).read_text()
    if "from __future__ import annotations" not in source:
        raise SystemExit(f"{module}: its annotations are evaluated at run time; mutate them too")
    type_only = skip_type_only(session, source)
    baseline = cosmic("baseline", "cosmic-ray.toml")
    if baseline.returncode:
        raise SystemExit(f"{module}: the tests fail without any mutation\n{baseline.stdout[-3000:]}")
    run = cosmic("exec", "cosmic-ray.toml", str(session))
    if run.returncode:
        raise SystemExit(f"{module}: cosmic-ray exec failed\n{run.stderr[-3000:]}")
    killed, survived, other = 0, [], 0
    for line in cosmic("dump", str(session)).stdout.splitlines():
        item, result = json.loads(line)
        outcome = (result or {}).get("test_outcome")
        if outcome == "killed":
            killed += 1
        elif outcome == "survived":
            survived.append(result.get("diff") or json.dumps(item))
        else:
            other += 1
    other -= type_only
    shutil.rmtree(tree / "functions")  # keep the session and config, not the copy
    return Outcome(module, killed, survived, other, time.monotonic() - started, type_only)


def report(outcomes: list[Outcome], target: float) -> str:
    lines = ["| module | mutants | killed | survived | score | in annotations (not run) |", "|---|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| `{o.module}` | {o.total} | {o.killed} | {len(o.survived)} | {o.score:.1f} % | {o.type_only} |")
    killed = sum(o.killed for o in outcomes)
    total = sum(o.total for o in outcomes)
    overall = 100.0 * killed / total if total else 100.0
    skipped = sum(o.type_only for o in outcomes)
    score = f"**{overall:.1f} %** (target {target:.0f} %)"
    lines.append(f"| **all** | {total} | {killed} | {total - killed} | {score} | {skipped} |")
    for o in outcomes:
        for diff in o.survived:
            lines += ["", f"Survivor in `{o.module}`:", "```diff", diff.strip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="surge mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all of them)")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests")
    parser.add_argument("--target", type=float, default=90.0, help="minimum %% of mutants killed")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one mutant's tests may take")
    args = parser.parse_args(argv)
    if args.list:
        for module, tests in TARGETS.items():
            print(f"{module}\n  " + "\n  ".join(tests))
        return 0
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"not a mutation target: {', '.join(unknown)} (see --list)")
    sys.path.insert(0, str(REPO))
    from functions.runtime.emulator import free_port, start_ministack, stop_process

    WORK.mkdir(parents=True, exist_ok=True)
    port = free_port()
    emulator = start_ministack(port, WORK / "ministack.log")
    env = {**os.environ, **PYTEST_ENV, "SQS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    outcomes: list[Outcome] = []
    try:
        for module in args.modules or list(TARGETS):
            outcome = mutate(module, TARGETS[module], env, args.timeout)
            outcomes.append(outcome)
            o = outcome
            print(f"{module}: {o.killed}/{o.total} killed ({o.score:.1f} %), {o.other} not run, "
                  f"{o.type_only} in annotations, {o.seconds:.0f} s", flush=True)  # fmt: skip
    finally:
        stop_process(emulator, timeout=10)
        if outcomes:
            text = report(outcomes, args.target)
            (WORK / "report.md").write_text(text)
            print(text)
    killed = sum(o.killed for o in outcomes)
    total = sum(o.total for o in outcomes)
    return 0 if total == 0 or 100.0 * killed / total >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
