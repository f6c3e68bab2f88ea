"""Dependencies: every third-party import is declared in pyproject.toml in the set of the
code that imports it, and the lock files installed by ``./surge`` agree with uv.lock."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK = tomllib.loads((REPO / "uv.lock").read_text())
FIRST_PARTY = {"app", "functions", "tests", "loadtest", "infra"}
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*extras: str) -> set[str]:
    """Distributions declared directly: the run-time dependencies plus ``extras``."""
    specs = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        specs += PYPROJECT["project"]["optional-dependencies"][extra]
    names = [re.match(r"[A-Za-z0-9_.\-]+", spec) for spec in specs]
    return {canonical(name.group(0)) for name in names if name}


def pins(path: Path) -> dict[str, str]:
    return {canonical(name): version for name, version in PIN.findall(path.read_text())}


def third_party_imports(*roots: str) -> dict[str, set[str]]:
    """Top-level modules imported by the files under ``roots`` -> the files importing them."""
    found: dict[str, set[str]] = {}
    files = [p for root in roots for p in ([REPO / root] if root.endswith(".py") else (REPO / root).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


# served by the SQS emulator's uvicorn from its own virtualenv, with MiniStack
EMULATOR_FRONT = "functions/runtime/ministack_sqs.py"

# Who imports what, and the sets ``./surge`` gives them: the functions run with the
# run-time set plus the local runtime (Chalice, boto3, granian); load tests add `load`; tests all.
SETS = [
    (("app.py", "functions"), ("local",)),
    (("loadtest",), ("local", "load")),
    (("tests", "infra"), ("local", "load", "test", "lint")),
]


@pytest.mark.parametrize(("roots", "extras"), SETS, ids=[roots[-1] for roots, _ in SETS])
def test_every_import_is_declared_in_its_set(roots: tuple[str, ...], extras: tuple[str, ...]) -> None:
    distributions = packages_distributions()
    allowed = declared(*extras)
    undeclared = {
        module: sorted(files - {EMULATOR_FRONT})
        for module, files in third_party_imports(*roots).items()
        if not {canonical(d) for d in distributions.get(module, [module])} & allowed and files - {EMULATOR_FRONT}
    }
    assert not undeclared, f"imported but not declared in pyproject.toml for {roots}: {undeclared}"


def test_the_emulator_front_imports_only_what_the_emulators_venv_pins() -> None:
    """It runs in ``.venv-ministack`` (requirements-emulator.txt), not with the app's sets."""
    imported = set(third_party_imports(EMULATOR_FRONT))
    assert imported == {"ministack"}
    pinned = pins(REPO / "requirements-emulator.txt")
    assert imported <= pinned.keys()
    # it answers SQS calls itself only for the MiniStack it was written against: a new pin asks for a look
    written_for = re.search(r'^WRITTEN_FOR = "([^"]+)"', (REPO / EMULATOR_FRONT).read_text(), re.MULTILINE)
    assert written_for and written_for.group(1) == pinned["ministack"]


def test_declared_packages_are_used() -> None:
    assert "localstack-client" not in declared("local", "load", "test", "lint"), "nothing imports it"


@pytest.mark.parametrize(
    ("lock_file", "extras"),
    [
        ("requirements.txt", ()),
        ("requirements/up.txt", ("local",)),
        ("requirements/load.txt", ("local", "load")),
        ("requirements/dev.txt", ("local", "load", "test", "lint")),
    ],
)
def test_lock_files_match_uv_lock(lock_file: str, extras: tuple[str, ...]) -> None:
    locked = {canonical(p["name"]): p["version"] for p in LOCK["package"] if "version" in p}
    exported = pins(REPO / lock_file)
    assert declared(*extras) <= exported.keys(), f"{lock_file} lacks a declared dependency: run ./surge lock"
    stale = {name: (version, locked.get(name)) for name, version in exported.items() if locked.get(name) != version}
    assert not stale, f"{lock_file} disagrees with uv.lock (exported, locked): {stale}; run ./surge lock"
    if lock_file != "requirements.txt":
        text = (REPO / lock_file).read_text()
        hashed = re.findall(r"^\S+==[^\n]*\\\n\s+--hash=sha256:", text, flags=re.MULTILINE)
        assert len(hashed) == len(PIN.findall(text)), f"{lock_file}: every pin has hashes (pip --require-hashes)"


def test_the_stack_set_holds_no_tools() -> None:
    up = pins(REPO / "requirements" / "up.txt")
    assert not {"pytest", "playwright", "locust", "matplotlib", "schemathesis", "cfn-lint", "ruff"} & up.keys()
