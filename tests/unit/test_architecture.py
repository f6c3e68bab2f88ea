"""The structure holds: no module under ``functions/`` imports ``app`` (no import cycle),
and the queues the configuration names are the ones ``app.py``'s handlers consume."""

from __future__ import annotations

import ast
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def modules_importing_app() -> list[str]:
    return sorted(
        str(path.relative_to(FUNCTIONS.parent))
        for path in FUNCTIONS.rglob("*.py")
        if "app" in imported_modules(path) or any(m.startswith("app.") for m in imported_modules(path))
    )


def test_nothing_under_functions_imports_app() -> None:
    assert modules_importing_app() == []


def test_the_check_sees_an_import_of_app(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from app import app\n    return app\n")
    assert "app" in imported_modules(module)


def test_configured_queues_are_the_ones_the_handlers_consume() -> None:
    from app import app
    from functions.config import get_settings
    from functions.workers.queues import consumed_queues

    assert consumed_queues(app) == get_settings().consumed_queues()
