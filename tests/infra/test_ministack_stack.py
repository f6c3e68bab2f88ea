"""The packaged stack deployed into MiniStack (CloudFormation + SAM, API Gateway, Lambda,
SQS event source mapping, Secrets Manager, IAM enforced) and exercised end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.ministack_deploy import Deployment, Target, client, deployed, smoke_test
from tests.support import http


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
    status, _, body = http("GET", f"{deployment.api_url}/payments/{result['payment']['id']}")
    assert status == 200, body


def test_bad_input_is_a_400_through_api_gateway(stack: tuple[Deployment, Target]) -> None:
    deployment, _ = stack
    status, _, body = http("POST", f"{deployment.api_url}/payment", {"amount": "-1"})
    assert status == 400, body
    assert body["code"]


def _role_policy(deployment: Deployment) -> tuple[Any, str, dict[str, Any]]:
    iam = client("iam", deployment.endpoint)
    cfn = client("cloudformation", deployment.endpoint)
    role = cfn.describe_stack_resource(StackName=deployment.stack_name, LogicalResourceId="DefaultRole")
    name = role["StackResourceDetail"]["PhysicalResourceId"].rsplit("/", 1)[-1]
    document = iam.get_role_policy(RoleName=name, PolicyName="DefaultRolePolicy")["PolicyDocument"]
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
    iam.put_role_policy(RoleName=role, PolicyName="DefaultRolePolicy", PolicyDocument=json.dumps(without_send))
    try:
        status, _, body = http("POST", f"{deployment.api_url}/payment", {"amount": "1.00"})
        assert status == 503, body
    finally:
        iam.put_role_policy(RoleName=role, PolicyName="DefaultRolePolicy", PolicyDocument=json.dumps(document))
    status, _, body = http("POST", f"{deployment.api_url}/payment", {"amount": "1.00"})
    assert status == 202, body
