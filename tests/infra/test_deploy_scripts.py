"""The deploy scripts run against a stub ``aws`` on PATH (tests/infra/stubs/aws): what they
refuse, and what they pass to CloudFormation."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).with_name("stubs")

EXISTING = {
    "AWS_REGION": "eu-west-1",
    "DEPLOY_BUCKET": "artifacts",
    "REDIS_URL": "rediss://:token@redis.example:6379/0",
    "MYSQL_HOST": "proxy.example",
    "MYSQL_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mysql",
    "ADMIN_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin",
    "ALARM_EMAIL": "oncall@example.com",
}


def run(script: str, tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], list]:
    """Run ``infra/<script>`` with the stubs first on PATH; return the result and the aws calls."""
    log = tmp_path / "aws-calls.log"
    log.touch()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MYSQL_", "REDIS_", "SUBNET", "ALARM"))}
    full = {**base, "PATH": f"{STUBS}:{os.environ['PATH']}", "STUB_LOG": str(log), **env}
    result = subprocess.run(
        [str(REPO / "infra" / script), *args], env=full, capture_output=True, text=True, timeout=300
    )
    calls = [shlex.split(line) for line in log.read_text().splitlines()]
    return result, calls


def deploy_call(calls: list[list[str]], stack: str) -> dict[str, str]:
    """The parameter overrides of ``aws cloudformation deploy --stack-name <stack>``."""
    for call in calls:
        if call[:2] == ["cloudformation", "deploy"] and call[call.index("--stack-name") + 1] == stack:
            overrides = call[call.index("--parameter-overrides") + 1 :]
            return dict(item.split("=", 1) for item in overrides)
    raise AssertionError(f"no deploy of {stack}: {calls}")


def test_a_deploy_without_a_vpc_is_refused(tmp_path: Path) -> None:
    result, calls = run("deploy-aws.sh", tmp_path, EXISTING)
    assert result.returncode == 1, result.stderr
    assert "outside the VPC" in result.stderr and "--no-vpc" in result.stderr
    assert calls == []  # refused before anything was uploaded or deployed


def test_an_explicit_flag_deploys_without_a_vpc(tmp_path: Path, package_dir: Path) -> None:
    result, calls = run("deploy-aws.sh", tmp_path, {**EXISTING, "PACKAGE_DIR": str(package_dir)}, "--no-vpc")
    assert result.returncode == 0, result.stderr
    assert "WITHOUT a VPC" in result.stderr
    params = deploy_call(calls, "surge")
    assert params["SubnetIds"] == ""


def test_the_deploy_passes_the_vpc_admin_key_alarm_subscriber_and_tls(tmp_path: Path, package_dir: Path) -> None:
    env = {**EXISTING, "PACKAGE_DIR": str(package_dir), "SUBNET_IDS": "subnet-a,subnet-b", "SECURITY_GROUP_IDS": "sg-c"}
    result, calls = run("deploy-aws.sh", tmp_path, env)
    assert result.returncode == 0, result.stderr
    params = deploy_call(calls, "surge")
    assert params["SubnetIds"] == "subnet-a,subnet-b" and params["SecurityGroupIds"] == "sg-c"
    assert params["AdminKeySecretArn"] == EXISTING["ADMIN_KEY_SECRET_ARN"]
    assert params["AlarmEmail"] == "oncall@example.com"
    assert (params["MysqlTls"], params["MysqlSessionInit"]) == ("true", "false")
    package = next(c for c in calls if c[:2] == ["cloudformation", "package"])
    assert package[package.index("--template-file") + 1] == f"{package_dir}/sam.json"


def test_an_unknown_flag_is_refused(tmp_path: Path) -> None:
    result, calls = run("deploy-aws.sh", tmp_path, EXISTING, "--no-vpcs")
    assert result.returncode == 2 and calls == []


def _compose_mysql() -> tuple[str, str]:
    """(password, host port expression) of docker-compose.yml's mysql service."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mysql = compose["services"]["mysql"]
    password = "" if mysql["environment"].get("MYSQL_ALLOW_EMPTY_PASSWORD") == "yes" else "?"
    published = mysql["ports"][0].rsplit(":", 1)[0].split(":", 1)[1]  # ${SURGE_MYSQL_PORT:-3306}
    return password, published


def test_the_localstack_script_defaults_match_the_compose_file(tmp_path: Path) -> None:
    """The functions in LocalStack reach the compose services by name, with the compose
    MySQL's credentials (root, no password)."""
    password, published = _compose_mysql()
    assert (password, published) == ("", "${SURGE_MYSQL_PORT:-3306}")
    env = {"LOCALSTACK_ENDPOINT": "http://127.0.0.1:9", "DEPLOY_BUCKET": "b"}
    result, calls = run("deploy-localstack.sh", tmp_path, env)
    assert result.returncode == 0, result.stderr
    secret = next(c for c in calls if c[:2] == ["secretsmanager", "create-secret"])
    assert '"username":"root","password":""' in secret[secret.index("--secret-string") + 1]
    params = deploy_call(calls, "surge")
    assert (params["MysqlHost"], params["MysqlPort"], params["MysqlDatabase"]) == ("mysql", "3306", "surge")
    assert params["RedisUrl"] == "redis://redis:6379/0"
    assert (params["MysqlTls"], params["MysqlSessionInit"]) == ("false", "true")
