"""The packaged stack deployed into MiniStack (CloudFormation + SAM, API Gateway, Lambda,
SQS event source mapping, Secrets Manager, IAM enforced) and exercised end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.mysql import MySqlTarget
from functions.runtime.emulator import free_port
from infra.ministack_deploy import (
    LOG_DIR,
    STACK_NAME,
    Deployment,
    Target,
    clean_up,
    client,
    create_mysql_secret,
    deployed,
    partial_failure_test,
    smoke_test,
    start_ministack,
    stop,
)
from tests.support import http

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(package_dir: Path) -> Iterator[tuple[Deployment, Target]]:
    with deployed(package_dir) as (deployment, target):
        yield deployment, target


def test_payment_goes_from_api_gateway_through_the_worker_lambda_to_mysql(stack: tuple[Deployment, Target]) -> None:
    deployment, target = stack
    result = smoke_test(deployment, target)
    assert result["row"] == ("12.34", "EUR")
    assert result["location"] == f"/payments/{result['payment']['id']}"
    payments = result["statistics"]["payments"]
    assert payments["count"] >= 1
    assert payments["currency"] == "EUR"
    queues = result["statistics"].get("queues", {})
    assert "error" not in json.dumps(queues), queues  # the role may read the queue and DLQ depths
    status, _, body = http("GET", f"{deployment.api_url}/payments/{result['payment']['id']}")
    assert status == 200, body


def test_the_deployed_mapping_reports_batch_item_failures(stack: tuple[Deployment, Target]) -> None:
    """The SAM transform carried the merge template's setting to the real mapping."""
    deployment, _ = stack
    mappings = client("lambda", deployment.endpoint).list_event_source_mappings()["EventSourceMappings"]
    payments = [m for m in mappings if m["EventSourceArn"].endswith(f":{STACK_NAME}-payments")]
    assert len(payments) == 1, mappings
    assert payments[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert payments[0]["BatchSize"] == 50
    assert payments[0]["ScalingConfig"]["MaximumConcurrency"] == 10  # the worker's reserved concurrency
    queue = client("sqs", deployment.endpoint).get_queue_url(QueueName=f"{STACK_NAME}-payments")["QueueUrl"]
    attributes = client("sqs", deployment.endpoint).get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{STACK_NAME}-payments-dlq")
    assert int(redrive["maxReceiveCount"]) == 5


def test_a_poison_message_reaches_the_dlq_alone_through_the_deployed_mapping(
    stack: tuple[Deployment, Target],
) -> None:
    """Partial batch failure end to end: the valid payments of the batch are stored, only the
    poison is redriven to the DLQ."""
    deployment, target = stack
    result = partial_failure_test(deployment, target)
    assert result["dead_letters"] == ["poison: not a payment"]


def test_the_dashboard_page_is_served_through_api_gateway(stack: tuple[Deployment, Target]) -> None:
    """Its HTML/JS/CSS are files in functions/dashboard/: they must be in the package.
    On the stack it is an operator surface: the admin key, else 401."""
    deployment, _ = stack
    assert http("GET", f"{deployment.api_url}/dashboard")[0] == 401
    assert http("GET", f"{deployment.api_url}/metrics")[0] == 401
    status, headers, body = http(
        "GET", f"{deployment.api_url}/dashboard", headers={"X-Admin-Key": deployment.admin_key}
    )
    assert status == 200, body
    assert headers["content-type"].startswith("text/html")
    assert "<html" in body.lower()


def test_bad_input_is_a_400_through_api_gateway(stack: tuple[Deployment, Target]) -> None:
    deployment, _ = stack
    status, _, body = http("POST", f"{deployment.api_url}/payment", {"amount": "-1"})
    assert status == 400, body
    assert body["code"]


def _role_policy(deployment: Deployment) -> tuple[Any, str, dict[str, Any]]:
    iam = client("iam", deployment.endpoint)
    cfn = client("cloudformation", deployment.endpoint)
    role = cfn.describe_stack_resource(StackName=deployment.stack_name, LogicalResourceId="APIHandlerRole")
    name = role["StackResourceDetail"]["PhysicalResourceId"].rsplit("/", 1)[-1]
    document = iam.get_role_policy(RoleName=name, PolicyName="APIHandlerPolicy")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    return iam, name, document


def test_iam_is_enforced_a_role_without_send_message_gets_503(stack: tuple[Deployment, Target]) -> None:
    """What Chalice's generated policy alone would do on AWS: the gateway cannot enqueue."""
    deployment, _ = stack
    iam, role, document = _role_policy(deployment)
    without_send = json.loads(json.dumps(document))
    for statement in without_send["Statement"]:
        actions = statement.get("Action", [])
        if isinstance(actions, list) and "sqs:SendMessage" in actions:
            statement["Action"] = [a for a in actions if a != "sqs:SendMessage"]
    iam.put_role_policy(RoleName=role, PolicyName="APIHandlerPolicy", PolicyDocument=json.dumps(without_send))
    try:
        status, _, body = http("POST", f"{deployment.api_url}/payment", {"amount": "1.00"})
        assert status == 503, body
    finally:
        iam.put_role_policy(RoleName=role, PolicyName="APIHandlerPolicy", PolicyDocument=json.dumps(document))
    status, _, body = http("POST", f"{deployment.api_url}/payment", {"amount": "1.00"})
    assert status == 202, body


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")
def test_deploy_localstack_script_deploys_and_destroys(stack: tuple[Deployment, Target]) -> None:
    """infra/deploy-localstack.sh against an emulator (MiniStack speaks LocalStack's API):
    package the localstack stage, migrate, `aws cloudformation package/deploy`, smoke test."""
    deployment, target = stack
    mine = Target(target.redis_url, f"{target.redis_prefix}ls:", f"{target.mysql_url}_ls")
    mysql = MySqlTarget.from_url(mine.mysql_url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "LOCALSTACK_ENDPOINT": deployment.endpoint,
        "STACK_NAME": "surge-ls",
        "DEPLOY_BUCKET": "surge-ls-deployments",
        "STACK_REDIS_URL": mine.redis_url,
        "REDIS_PREFIX": mine.redis_prefix,
        "STACK_MYSQL_HOST": mysql.host,
        "STACK_MYSQL_PORT": str(mysql.port),
        "MYSQL_DATABASE": mysql.database,
        "MYSQL_USER": mysql.user,
        "MYSQL_PASSWORD": mysql.password,
        "MIGRATION_MYSQL_URL": mine.mysql_url,
    }
    try:
        deployed_ = subprocess.run(
            [str(REPO / "infra" / "deploy-localstack.sh")], env=env, capture_output=True, text=True, timeout=300
        )
        assert deployed_.returncode == 0, deployed_.stdout + deployed_.stderr
        api_url = re.search(r"^API: (\S+)/ ", deployed_.stdout, re.M)
        assert api_url, deployed_.stdout
        result = smoke_test(Deployment(deployment.endpoint, api_url.group(1), "surge-ls", {}), mine)
        assert result["row"] == ("12.34", "EUR")
        destroyed = subprocess.run(
            [str(REPO / "infra" / "destroy-localstack.sh")], env=env, capture_output=True, text=True, timeout=120
        )
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
        cfn = client("cloudformation", deployment.endpoint)
        names = {s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}
        assert "surge-ls" not in names
    finally:
        clean_up(mine)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")
def test_deploy_aws_script_against_an_emulator(package_dir: Path) -> None:
    """infra/deploy-aws.sh and destroy-aws.sh, with the aws CLI pointed at a MiniStack of
    their own (AWS_ENDPOINT_URL): package, upload, migrate with the secret, deploy, smoke."""
    run_id = uuid.uuid4().hex[:8]
    target = Target.for_run(f"{run_id}a")
    mysql = MySqlTarget.from_url(target.mysql_url)
    port = free_port()
    process = start_ministack(port, LOG_DIR / f"ministack-deploy-aws-{run_id}.log")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client("s3", endpoint).create_bucket(Bucket="surge-artifacts")
        secret_arn = create_mysql_secret(endpoint, target, f"surge/mysql-{run_id}")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "DEPLOY_BUCKET": "surge-artifacts",
            "REDIS_URL": target.redis_url,
            "REDIS_PREFIX": target.redis_prefix,
            "MYSQL_HOST": mysql.host,
            "MYSQL_PORT": str(mysql.port),
            "MYSQL_DATABASE": mysql.database,
            "MYSQL_SECRET_ARN": secret_arn,
            # the local MariaDB: no TLS, no parameter group setting the session
            "MYSQL_TLS": "false",
            "MYSQL_SESSION_INIT": "true",
            "WAF_ENABLED": "false",  # MiniStack has no AWS::WAFv2::WebACLAssociation
        }
        deployed_ = subprocess.run(
            [str(REPO / "infra" / "deploy-aws.sh"), "--no-vpc"], env=env, capture_output=True, text=True, timeout=300
        )
        assert deployed_.returncode == 0, deployed_.stdout + deployed_.stderr
        api_id = re.search(r"^RestAPIId\s+(\S+)$", deployed_.stdout, re.M)
        assert api_id, deployed_.stdout
        deployment = Deployment(endpoint, f"{endpoint}/_aws/execute-api/{api_id.group(1)}/api", "surge", {})
        assert smoke_test(deployment, target)["row"] == ("12.34", "EUR")
        destroyed = subprocess.run(
            [str(REPO / "infra" / "destroy-aws.sh"), "--yes"], env=env, capture_output=True, text=True, timeout=120
        )
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    finally:
        stop(process)
        clean_up(target)
