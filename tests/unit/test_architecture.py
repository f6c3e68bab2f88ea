"""The structure holds: no module under ``functions/`` imports ``app`` (no import cycle);
the queues the configuration names are the ones ``app.py``'s handlers consume; only the
adapters (and the wiring) touch Redis, SQS and MySQL clients; only ``functions/config.py``
reads the environment; the domain imports nothing from Chalice, HTTP or the adapters."""

from __future__ import annotations

import ast
import re
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


DOMAIN = ["money.py", "ids.py", "errors.py", "idempotency.py", "validation.py", "times.py", "ports.py", "messages.py"]
FORBIDDEN_IN_DOMAIN = ("chalice", "functions.http", "functions.adapters", "redis", "boto3", "botocore", "pymysql")


def domain_modules() -> list[Path]:
    named = [FUNCTIONS / name for name in DOMAIN]
    return named + sorted(FUNCTIONS.glob("*/model.py")) + sorted(FUNCTIONS.glob("*/service.py"))


def test_the_domain_imports_nothing_from_chalice_http_or_the_adapters() -> None:
    offending = {
        str(path.relative_to(FUNCTIONS.parent)): sorted(
            m
            for m in imported_modules(path)
            if m.split(".")[0] in FORBIDDEN_IN_DOMAIN or m.startswith(FORBIDDEN_IN_DOMAIN)
        )
        for path in domain_modules()
    }
    assert {path: modules for path, modules in offending.items() if modules} == {}
    assert len(domain_modules()) >= len(DOMAIN) + 6  # the models and services were found


def test_a_dependency_that_is_down_is_a_503_with_retry_after_and_no_cause_for_the_client() -> None:
    from functions.errors import DependencyDown, OutOfStock, RequestInProgress, ValidationFailed
    from functions.http.errors import error_response

    response = error_response(DependencyDown("sqs", ConnectionError("10.0.0.7:4566 refused")))
    assert (response.status_code, response.headers, response.body) == (
        503,
        {"Retry-After": "1"},
        {"code": "service_unavailable", "message": "sqs unavailable; retry later"},
    )
    assert error_response(ValidationFailed("bad", field="amount")).status_code == 400
    assert error_response(OutOfStock("none left")).status_code == 409
    assert error_response(RequestInProgress("wait")).status_code == 409


def test_the_domain_errors_are_not_chalice_errors() -> None:
    from chalice.app import ChaliceError

    from functions.errors import DependencyDown, SurgeError, ValidationFailed

    for error in (SurgeError, ValidationFailed, DependencyDown):
        assert not issubclass(error, ChaliceError)


# A raw client: importing a client library, making an SQS client, a MySQL cursor or
# transaction, or reaching through the wiring to its clients (``app.redis.get``).
RAW_CLIENT = re.compile(
    r"^\s*(import|from) (redis|boto3|botocore|pymysql)\b|\bsqs_client\(|\.cursor\(|\.transaction\(|\.(redis|sqs|db)\.",
    re.M,
)
# the adapters, the wiring, and the local runtime, which plays AWS's part (API Gateway,
# the SQS event source mappings, the emulator) around the app
CLIENTS_ALLOWED = ("functions/adapters/", "functions/bootstrap.py", "functions/runtime/")
ENVIRONMENT_READ = re.compile(r"os\.environ\.get|os\.environ\[|os\.getenv|environ\.setdefault")


def offending_lines(pattern: re.Pattern[str], allowed: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        name = str(path.relative_to(FUNCTIONS.parent))
        if name.startswith(allowed):
            continue
        text = path.read_text()
        found += [f"{name}: {m.group(0).strip()}" for m in pattern.finditer(text)]
    return found


def test_only_the_adapters_and_the_wiring_touch_redis_sqs_and_mysql_clients() -> None:
    assert offending_lines(RAW_CLIENT, CLIENTS_ALLOWED) == []


def test_only_the_settings_read_the_environment() -> None:
    assert offending_lines(ENVIRONMENT_READ, ("functions/config.py",)) == []


def test_the_greps_see_what_they_look_for() -> None:
    sample = "import redis\nclient = sqs_client(None, 'r')\nwith db.transaction() as cur:\n    app.redis.get('k')\n"
    assert len(RAW_CLIENT.findall(sample)) == 4
    assert ENVIRONMENT_READ.search("level = os.environ.get('LOG_LEVEL')")
