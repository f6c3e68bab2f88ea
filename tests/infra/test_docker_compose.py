"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The file must be valid under the compose-spec JSON schema (shipped in infra/schemas/, so
no network is needed), and what it configures must be what the app reads: env var names,
service hosts and ports, start order, and commands that point at modules that exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.adapters.mysql import MySqlTarget
from functions.config import Settings
from functions.runtime.emulator import REPO
from infra.venvs import LAMBDA_PYTHON_VERSION

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
SCHEMA = REPO / "infra" / "schemas" / "compose-spec.json"
APP_SERVICES = ("prepare", "gateway", "workers")
INFRA_SERVICES = ("localstack", "redis", "mysql")
OBSERVABILITY_SERVICES = ("prometheus", "grafana")
LAST_FREE_LOCALSTACK = (4, 14)  # auth token required from 4.15 / 2026.3.0 on


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def published(service: dict[str, Any]) -> dict[int, int]:
    """container port -> default host port, from entries like ``127.0.0.1:${X:-4566}:4566``."""
    ports = {}
    for entry in service.get("ports", []):
        match = re.fullmatch(r"(?:[\d.]+:)?(?:\$\{\w+:-(\d+)\}|(\d+)):(\d+)", str(entry))
        assert match, f"unexpected port entry {entry!r}"
        ports[int(match[3])] = int(match[1] or match[2])
    return ports


def dockerfile_cmd() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    [cmd] = re.findall(r"^CMD\s+(\[.*\])\s*$", text, flags=re.MULTILINE)
    return list(json.loads(cmd))


def env_names_read_by_the_app() -> set[str]:
    """Every NAME in os.environ.get("NAME") / _env("NAME") / os.environ["NAME"] under functions/."""
    pattern = re.compile(r"""(?:environ\.get|_env|_env_bool|environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {name for path in (REPO / "functions").rglob("*.py") for name in pattern.findall(path.read_text())}


def test_compose_file_is_valid_under_the_compose_spec_schema() -> None:
    result = check_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:", "    healthchek:", 1))
    result = check_schema(broken)
    assert result.returncode != 0
    assert "healthchek" in result.stdout


def test_every_part_of_the_stack_is_a_service(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {*INFRA_SERVICES, *APP_SERVICES, *OBSERVABILITY_SERVICES}


def test_localstack_is_pinned_to_a_release_that_runs_without_an_account(compose: dict[str, Any]) -> None:
    localstack = services(compose)["localstack"]
    match = re.fullmatch(r"localstack/localstack:(\d+)\.(\d+)\.(\d+)", localstack["image"])
    assert match, f"pin an exact community tag, not {localstack['image']!r}"
    assert (int(match[1]), int(match[2])) <= LAST_FREE_LOCALSTACK
    assert "LOCALSTACK_AUTH_TOKEN" not in localstack.get("environment", {})
    assert localstack["environment"]["SERVICES"] == "sqs"


@pytest.mark.parametrize(("service", "repository", "major"), [("redis", "redis", "7"), ("mysql", "mysql", "8")])
def test_datastores_are_pinned_to_their_major_version(
    compose: dict[str, Any], service: str, repository: str, major: str
) -> None:
    name, _, tag = services(compose)[service]["image"].partition(":")
    assert name == repository
    assert tag.split(".")[0].split("-")[0] == major


def test_ports_are_the_documented_ones(compose: dict[str, Any]) -> None:
    stack = services(compose)
    assert published(stack["gateway"]) == {8000: 8000}
    assert published(stack["localstack"]) == {4566: 4566}
    assert published(stack["redis"]) == {6379: 6379}
    assert published(stack["mysql"]) == {3306: 3306}
    cmd = dockerfile_cmd()
    assert cmd[cmd.index("--port") + 1] == "8000", "granian must listen on the port compose publishes"
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0", "127.0.0.1 inside a container is unreachable from the host"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_environment_uses_only_names_the_app_reads(compose: dict[str, Any], service: str) -> None:
    env = services(compose)[service]["environment"]
    unknown = set(env) - env_names_read_by_the_app()
    assert not unknown, f"{service} sets {unknown}, which nothing in functions/ reads (typo?)"
    assert {"REDIS_URL", "MYSQL_URL", "QUEUE_PREFIX"} <= set(env)
    assert {"SQS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"} & set(env)


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_environment_points_at_the_compose_services(
    compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = services(compose)
    for name in env_names_read_by_the_app():
        monkeypatch.delenv(name, raising=False)
    for name, value in stack[service]["environment"].items():
        monkeypatch.setenv(name, str(value))
    settings = Settings.from_env()

    assert re.fullmatch(r"redis://redis:6379/\d+", settings.redis_url)
    mysql = MySqlTarget.from_url(settings.mysql_url)
    assert (mysql.host, mysql.port) == ("mysql", 3306)
    assert mysql.database == stack["mysql"]["environment"]["MYSQL_DATABASE"]
    assert not mysql.password and stack["mysql"]["environment"]["MYSQL_ALLOW_EMPTY_PASSWORD"] == "yes"
    assert settings.sqs_endpoint_url == "http://localstack:4566"
    assert settings.queue_name("payments") == "surge-payments"


def test_gateway_batches_sqs_sends_like_the_local_stack(compose: dict[str, Any]) -> None:
    assert services(compose)["gateway"]["environment"]["SQS_BATCHING"] == "1"


def test_start_order_waits_for_healthy_services_and_a_finished_prepare(compose: dict[str, Any]) -> None:
    stack = services(compose)
    assert stack["prepare"]["depends_on"] == {name: {"condition": "service_healthy"} for name in INFRA_SERVICES}
    for name in ("gateway", "workers"):
        assert stack[name]["depends_on"]["prepare"] == {"condition": "service_completed_successfully"}
    for name, service in stack.items():
        for dependency, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in stack[dependency], f"{name} waits for {dependency}, which has no healthcheck"
    assert stack["prepare"]["restart"] == "no", "a one-shot that restarts never completes"


def test_gateway_healthcheck_asks_the_health_route(compose: dict[str, Any]) -> None:
    probe = " ".join(services(compose)["gateway"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/health" in probe


def test_dockerfile_installs_the_requirements_and_serves_the_wsgi_app() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(rf"^FROM python:{LAMBDA_PYTHON_VERSION}-", text, flags=re.MULTILINE), "the Lambda runtime's Python"
    assert "pip install --require-hashes -r requirements/up.txt" in text, "the runtime lock, not the dev tools"
    cmd = dockerfile_cmd()
    assert cmd[0] == "granian" and "granian==" in (REPO / "requirements" / "up.txt").read_text()
    target = cmd[-1]
    assert target in (REPO / "functions" / "runtime" / "stack.py").read_text(), "same app as ./surge up serves"
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_service_commands_run_modules_that_exist(compose: dict[str, Any]) -> None:
    from functions.cli import cmd_prepare, parser

    stack = services(compose)
    assert stack["workers"]["command"][:2] == ["python", "-m"]
    workers = stack["workers"]["command"][2]
    assert importlib.util.find_spec(workers) is not None
    assert callable(importlib.import_module(workers).main)
    prepare = stack["prepare"]["command"]
    assert prepare[:3] == ["python", "-m", "functions.cli"]
    assert parser().parse_args(prepare[3:]).func is cmd_prepare


def test_build_context_leaves_out_local_state() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".venv*", "var", ".git"} <= ignored
