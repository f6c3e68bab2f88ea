"""The platform stack (infra/platform.json): cfn-lint clean, what the functions need is in
it, and its outputs are what infra/deploy-aws.sh --platform new reads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.test_deploy_scripts import deploy_call, run

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "infra" / "platform.json"


@pytest.fixture(scope="module")
def platform() -> dict[str, Any]:
    return dict(json.loads(PLATFORM.read_text()))


def _of_type(platform: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in platform["Resources"].values() if r["Type"] == kind]


def test_cfn_lint_is_clean() -> None:
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, str(PLATFORM)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_vpc_has_the_endpoints_the_functions_use(platform: dict[str, Any]) -> None:
    services = {e["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1] for e in _of_type(platform, "AWS::EC2::VPCEndpoint")}
    assert {"sqs", "secretsmanager", "logs", "monitoring", "s3"} <= services
    assert not _of_type(platform, "AWS::EC2::InternetGateway")  # private: no way out but the endpoints


def test_redis_and_mysql_speak_tls_with_secrets(platform: dict[str, Any]) -> None:
    (redis,) = _of_type(platform, "AWS::ElastiCache::ReplicationGroup")
    assert redis["TransitEncryptionEnabled"] is True and "resolve:secretsmanager" in redis["AuthToken"]["Fn::Sub"]
    (proxy,) = _of_type(platform, "AWS::RDS::DBProxy")
    assert proxy["RequireTLS"] is True and proxy["EngineFamily"] == "MYSQL"
    (database,) = _of_type(platform, "AWS::RDS::DBInstance")
    assert database["Engine"] == "mysql" and database["EngineVersion"] == {"Ref": "MysqlEngineVersion"}
    assert platform["Parameters"]["MysqlEngineVersion"]["Default"].startswith("8.")
    assert database["ManageMasterUserPassword"] is True  # RDS rotates the secret
    (parameters,) = _of_type(platform, "AWS::RDS::DBParameterGroup")
    # the session settings the app no longer SETs per connection (they would pin the proxy)
    assert parameters["Parameters"]["time_zone"] == "UTC"
    assert parameters["Parameters"]["transaction_isolation"] == "READ-COMMITTED"


def test_the_deploy_script_reads_only_outputs_the_platform_has(platform: dict[str, Any]) -> None:
    script = (REPO / "infra" / "deploy-aws.sh").read_text()
    read = set(re.findall(r'output_of "\$platform_stack" (\w+)', script))
    assert read and read <= set(platform["Outputs"])


def test_platform_new_deploys_the_platform_then_the_app_from_its_outputs(tmp_path: Path, package_dir: Path) -> None:
    env = {"AWS_REGION": "eu-west-1", "PACKAGE_DIR": str(package_dir), "ALARM_EMAIL": "oncall@example.com"}
    result, calls = run("deploy-aws.sh", tmp_path, env, "--platform", "new")
    assert result.returncode == 0, result.stderr
    deploys = [c[c.index("--stack-name") + 1] for c in calls if c[:2] == ["cloudformation", "deploy"]]
    assert deploys == ["surge-platform", "surge"]
    params = deploy_call(calls, "surge")
    assert params["SubnetIds"] == "stub-SubnetIds" and params["SecurityGroupIds"] == "stub-FunctionSecurityGroupId"
    assert params["MysqlHost"] == "stub-MysqlProxyEndpoint" and params["MysqlSecretArn"] == "stub-MysqlSecretArn"
    assert params["RedisUrl"] == "rediss://:stub-redis-token@stub-RedisEndpoint:6379/0"
    assert params["AdminKeySecretArn"] == "stub-AdminKeySecretArn"
    package = next(c for c in calls if c[:2] == ["cloudformation", "package"])
    assert package[package.index("--s3-bucket") + 1] == "stub-ArtifactsBucket"


def test_what_ministack_emulates_of_the_platform_deploys(platform: dict[str, Any], tmp_path: Path) -> None:
    """VPC, subnets, security groups, endpoints, ElastiCache, RDS, secrets and the bucket are
    created by MiniStack's CloudFormation; the RDS Proxy and RDS's managed secret are not
    emulated (docs/deploy.md lists them) and are left out."""
    from functions.runtime.emulator import free_port
    from infra.ministack_deploy import LOG_DIR, UNEMULATED_TYPES, create_stack, emulated_part, start_ministack, stop

    part = emulated_part(platform)
    assert not {r["Type"] for r in part["Resources"].values()} & set(UNEMULATED_TYPES)
    assert {"Vpc", "Redis", "Database", "SqsEndpoint", "ArtifactsBucket"} <= set(part["Resources"])
    port = free_port()
    process = start_ministack(port, LOG_DIR / f"ministack-platform-{port}.log")
    try:
        stack = create_stack(f"http://127.0.0.1:{port}", part, [], stack_name="surge-platform")
    finally:
        stop(process)
    outputs = {o["OutputKey"] for o in stack["Outputs"]}
    assert {"SubnetIds", "FunctionSecurityGroupId", "RedisEndpoint", "ArtifactsBucket"} <= outputs
