"""Deploy the packaged stack (``build/prod``) into MiniStack and smoke-test it through API Gateway.

MiniStack emulates CloudFormation (with the SAM transform), API Gateway, Lambda (each
function a local process on MiniStack's own Python, no Docker), SQS event source
mappings with ``ReportBatchItemFailures``, Secrets Manager and IAM. It runs with
``AUTH=true``, so the functions' role policy is evaluated as on AWS: a missing
``sqs:SendMessage`` makes ``POST /payment`` answer 503.

The exact artifact of ``infra/package.py`` is deployed: ``deployment.zip`` goes to the
emulator's S3 and ``CodeUri`` points there; the parameters point the functions at the
local Redis (db 15, a prefix of this run) and MariaDB (a database of this run, whose
schema is applied first, like the migration step of a real deploy), with the MySQL
credentials in a Secrets Manager secret.

Example::

    .venv/bin/python -m infra.ministack_deploy          # build, deploy, smoke test, tear down
    .venv/bin/python -m infra.ministack_deploy --keep   # leave it running; prints the API URL
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from functions.adapters.mysql import MySqlTarget
from functions.adapters.schema import drop_database
from functions.runtime.emulator import free_port
from infra.package import BUILD, build
from infra.venvs import ministack_venv

REPO = Path(__file__).resolve().parents[1]
LOG_DIR = REPO / "var" / "log"
DEPLOY_BUCKET = "surge-deployments"
STACK_NAME = "surge"
# The functions run with MiniStack's environment: give it nothing of ours (a test
# run's SQS_ENDPOINT_URL or QUEUE_PREFIX would leak into them).
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclass(frozen=True)
class Target:
    """Where the deployed functions keep their state on this machine."""

    redis_url: str
    redis_prefix: str
    mysql_url: str  # with credentials: they go into the Secrets Manager secret

    @classmethod
    def for_run(cls, run_id: str) -> Target:
        base = os.environ.get("TEST_MYSQL_URL_BASE", "mysql://root@127.0.0.1:3306")
        return cls(
            redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            redis_prefix=f"surge-ms{run_id}:",
            mysql_url=f"{base}/surge_ms{run_id}",
        )


@dataclass(frozen=True)
class Deployment:
    endpoint: str  # MiniStack
    api_url: str  # API Gateway stage URL, e.g. http://127.0.0.1:PORT/_aws/execute-api/abcd1234/api
    stack_name: str
    outputs: dict[str, str]
    admin_key: str = ""  # X-Admin-Key of the operator surfaces (dashboard, /metrics, queue figures)


def client(service: str, endpoint: str) -> Any:
    """A client of the emulator, as its root user."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=120),
    )


# ---------------------------------------------------------------- MiniStack


def start_ministack(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """MiniStack (``full``, its own venv) on 127.0.0.1:``port`` with IAM enforced."""
    python = ministack_venv()
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.update({
        "AUTH": "true",  # evaluate IAM: a policy that lacks an action fails as on AWS
        "BIND_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0",
        "LAMBDA_EXECUTOR": "local",  # functions as processes on MiniStack's Python
    })  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        [str(python), "-m", "ministack"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    endpoint = f"http://127.0.0.1:{port}"
    sts = client("sts", endpoint)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"MiniStack exited with {process.returncode}; see {log_path}")
        try:
            sts.get_caller_identity()
            return process
        except Exception:
            if time.monotonic() > deadline:
                stop(process)
                raise
            time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to MiniStack's process group (its Lambda workers included)."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ---------------------------------------------------------------- deploy


def upload_code(endpoint: str, package_dir: Path) -> str:
    """deployment.zip to the emulator's S3; returns its s3:// URI."""
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=DEPLOY_BUCKET)
    key = f"surge/{uuid.uuid4().hex}/deployment.zip"
    s3.upload_file(str(package_dir / "deployment.zip"), DEPLOY_BUCKET, key)
    return f"s3://{DEPLOY_BUCKET}/{key}"


def with_code_uri(template: dict[str, Any], code_uri: str) -> dict[str, Any]:
    """The template with every function's ``CodeUri`` pointing at the uploaded package
    (what ``aws cloudformation package`` does on AWS)."""
    result = json.loads(json.dumps(template))
    for resource in result["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    return result


def create_mysql_secret(endpoint: str, target: Target, name: str) -> str:
    mysql = MySqlTarget.from_url(target.mysql_url)
    secret = {"username": mysql.user, "password": mysql.password, "engine": "mysql"}
    response = client("secretsmanager", endpoint).create_secret(Name=name, SecretString=json.dumps(secret))
    return str(response["ARN"])


def create_admin_secret(endpoint: str, name: str) -> tuple[str, str]:
    """(ARN, key) of a new admin key secret."""
    key = uuid.uuid4().hex
    response = client("secretsmanager", endpoint).create_secret(Name=name, SecretString=key)
    return str(response["ARN"]), key


def parameters(target: Target, secret_arn: str, admin_secret_arn: str = "") -> list[dict[str, str]]:
    """The stack's parameters for this machine: MariaDB without TLS and without a parameter
    group that sets the session (so the functions set it per connection)."""
    mysql = MySqlTarget.from_url(target.mysql_url)
    values = {
        "MysqlTls": "false",
        "MysqlSessionInit": "true",
        "AdminKeySecretArn": admin_secret_arn,
        "RedisUrl": target.redis_url,
        "RedisPrefix": target.redis_prefix,
        "MysqlHost": mysql.host,
        "MysqlPort": str(mysql.port),
        "MysqlDatabase": mysql.database,
        "MysqlSecretArn": secret_arn,
        "WafEnabled": "false",  # MiniStack has no AWS::WAFv2::WebACLAssociation
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


# what MiniStack (1.5.33) cannot create in the platform stack: the RDS Proxy, a standalone
# security group egress rule, and the RDS-managed master secret (MasterUserSecret)
UNEMULATED_TYPES = ("AWS::RDS::DBProxy", "AWS::RDS::DBProxyTargetGroup", "AWS::EC2::SecurityGroupEgress")
UNEMULATED_ATTRIBUTE = "MasterUserSecret"


def emulated_part(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` without what MiniStack cannot create, and without what refers to it."""
    result = json.loads(json.dumps(template))
    resources = result["Resources"]
    dropped = {k for k, r in resources.items() if r["Type"] in UNEMULATED_TYPES}
    while True:
        refers = {
            k
            for k, r in resources.items()
            if k not in dropped and (UNEMULATED_ATTRIBUTE in json.dumps(r) or _mentions(r, dropped))
        }
        if not refers:
            break
        dropped |= refers
    for key in dropped:
        del resources[key]
    result["Outputs"] = {
        k: o for k, o in result.get("Outputs", {}).items()
        if UNEMULATED_ATTRIBUTE not in json.dumps(o) and not _mentions(o, dropped)
    }  # fmt: skip
    return result


def _mentions(value: Any, ids: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"Ref": "{i}"' in text or f'["{i}", ' in text or f"${{{i}" in text for i in ids)


def create_stack(
    endpoint: str,
    template: dict[str, Any],
    params: list[dict[str, str]],
    timeout: float = 180,
    stack_name: str = STACK_NAME,
) -> dict:
    cfn = client("cloudformation", endpoint)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=params,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return dict(stack)
        if status.endswith(("FAILED", "ROLLBACK_COMPLETE")) or time.monotonic() > deadline:
            events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
            reasons = [
                f"{e['LogicalResourceId']}: {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
                for e in events
                if "FAILED" in e["ResourceStatus"]
            ]
            raise RuntimeError(f"stack {status}:\n  " + "\n  ".join(reasons or [str(stack)]))
        time.sleep(1)


def deploy(endpoint: str, package_dir: Path, target: Target, run_id: str) -> Deployment:
    """Create the stack from the packaged template (its SchemaMigration resource migrates)."""
    template = json.loads((package_dir / "sam.json").read_text())
    template = with_code_uri(template, upload_code(endpoint, package_dir))
    secret_arn = create_mysql_secret(endpoint, target, f"surge/mysql-{run_id}")
    admin_arn, admin_key = create_admin_secret(endpoint, f"surge/admin-{run_id}")
    stack = create_stack(endpoint, template, parameters(target, secret_arn, admin_arn))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    api_url = f"{endpoint}/_aws/execute-api/{outputs['RestAPIId']}/api"
    return Deployment(endpoint, api_url, STACK_NAME, outputs, admin_key)


def clean_up(target: Target) -> None:
    """Drop this run's database and Redis keys (never anything else)."""
    from functions.adapters.redis_client import connect

    drop_database(MySqlTarget.from_url(target.mysql_url))
    redis = connect(target.redis_url)
    keys = list(redis.scan_iter(match=f"{target.redis_prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        redis.delete(*keys[start : start + 500])


@contextmanager
def deployed(package_dir: Path | None = None, run_id: str | None = None) -> Iterator[tuple[Deployment, Target]]:
    """Build (unless ``package_dir`` is given), start MiniStack, deploy; tear all down after."""
    run_id = run_id or uuid.uuid4().hex[:8]
    package_dir = package_dir or build("prod")
    target = Target.for_run(run_id)
    port = free_port()
    process = start_ministack(port, LOG_DIR / f"ministack-deploy-{run_id}.log")
    try:
        yield deploy(f"http://127.0.0.1:{port}", package_dir, target, run_id), target
    finally:
        stop(process)
        clean_up(target)


# ---------------------------------------------------------------- smoke test


def stored_payment(target: Target, payment_id: str) -> tuple[str, str] | None:
    """(amount, currency) of the payment's row in MySQL, or None."""
    conn = MySqlTarget.from_url(target.mysql_url).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT amount, currency FROM payments WHERE id = %s", (payment_id,))
            row = cur.fetchone()
    finally:
        conn.close()
    return (str(row[0]), str(row[1])) if row else None


def smoke_test(deployment: Deployment, target: Target, timeout: float = 60) -> dict[str, Any]:
    """POST /payment -> 202 -> worker Lambda via the SQS mapping -> row in MySQL -> statistics."""
    from tests.support import http, wait_until

    status, _, health = http("GET", f"{deployment.api_url}/health")
    if status != 200:  # the API function reached Redis, SQS and MySQL (with the secret's credentials)
        raise AssertionError(f"GET /health answered {status}: {health}")
    status, headers, accepted = http("POST", f"{deployment.api_url}/payment", {"amount": "12.34", "currency": "EUR"})
    if status != 202:
        raise AssertionError(f"POST /payment answered {status}: {accepted}")
    payment_id = accepted["id"]
    row = wait_until(lambda: stored_payment(target, payment_id), timeout, 0.5, f"payment {payment_id} in MySQL")
    operator = {"X-Admin-Key": deployment.admin_key}
    status, _, stats = http("GET", f"{deployment.api_url}/statistics?window=300", headers=operator)
    if status != 200:
        raise AssertionError(f"GET /statistics answered {status}: {stats}")
    return {"payment": accepted, "location": headers.get("location"), "row": row, "statistics": stats}


def partial_failure_test(deployment: Deployment, target: Target, timeout: float = 90) -> dict[str, Any]:
    """A poison message among valid payments in one batch, through the deployed mapping:
    the valid ones are stored, the poison alone reaches the DLQ.

    The queue's visibility timeout (6x the worker's) and maxReceiveCount are shortened for
    the test, so the poison's receives take seconds, then put back.
    """
    from functions.ids import new_id
    from functions.payments.model import Payment
    from tests.support import wait_until

    sqs = client("sqs", deployment.endpoint)
    queue, dlq = deployment.outputs["PaymentsQueueUrl"], deployment.outputs["PaymentsDeadLetterQueueUrl"]
    saved = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
    saved = saved["Attributes"]
    quick = {**json.loads(saved["RedrivePolicy"]), "maxReceiveCount": 2}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "2", "RedrivePolicy": json.dumps(quick)})
    try:
        valid = [Payment(id=new_id(), amount_cents=500 + n, currency="EUR", accepted_ms=int(time.time() * 1000))
                 for n in range(4)]  # fmt: skip
        bodies = [p.to_message() for p in valid] + ["poison: not a payment"]
        entries = [{"Id": f"m{n}", "MessageBody": body} for n, body in enumerate(bodies)]
        sent = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        if sent.get("Failed"):
            raise AssertionError(f"SendMessageBatch failed: {sent['Failed']}")
        rows = wait_until(
            lambda: all(stored_payment(target, p.id) for p in valid) and len(valid),
            timeout, 0.5, "the valid payments of the batch in MySQL",
        )  # fmt: skip

        def dead() -> list[str] | None:
            got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1)
            bodies = [m["Body"] for m in got.get("Messages", [])]
            return bodies or None

        dead_letters = wait_until(dead, timeout, 0.5, "the poison message in the DLQ")
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes=saved)
    return {"stored": rows, "dead_letters": dead_letters}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.ministack_deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-dir", type=Path, help=f"use this package (default: build it into {BUILD}/prod)")
    parser.add_argument("--keep", action="store_true", help="keep the stack running until Ctrl-C")
    args = parser.parse_args(argv)
    with deployed(args.package_dir) as (deployment, target):
        print(json.dumps({"api_url": deployment.api_url, "outputs": deployment.outputs}, indent=2), flush=True)
        print(json.dumps(smoke_test(deployment, target), indent=2), flush=True)
        print(json.dumps(partial_failure_test(deployment, target), indent=2), flush=True)
        if args.keep:
            print("running; Ctrl-C stops MiniStack and drops this run's database and Redis keys", flush=True)
            with suppress(KeyboardInterrupt):
                signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
