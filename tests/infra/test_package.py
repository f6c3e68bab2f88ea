"""The packaged artifact: template checks, cfn-lint, and the zip importable on its own."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra.package import (
    MAX_RECEIVE_COUNT,
    VISIBILITY_FACTOR,
    PackageError,
    SqsHandler,
    function_setting,
    load_config,
    merge_template,
    packaging_env,
    verify_template,
)
from infra.venvs import LAMBDA_RUNTIME, lambda_runtime_site, lambda_venv

REPO = Path(__file__).resolve().parents[2]


def template_of(package_dir: Path) -> dict[str, Any]:
    return dict(json.loads((package_dir / "sam.json").read_text()))


def sqs_events(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{fn_id}.{event_id}": event["Properties"]
        for fn_id, fn in template["Resources"].items()
        if fn["Type"] == "AWS::Serverless::Function"
        for event_id, event in fn["Properties"].get("Events", {}).items()
        if event["Type"] == "SQS"
    }


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install shellcheck)"
)
def test_deploy_scripts_pass_shellcheck() -> None:
    scripts = sorted(str(p) for p in (REPO / "infra").glob("*.sh"))
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_packaging_needs_no_credentials_even_with_the_secret_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app is imported while packaging: an exported MYSQL_SECRET_ARN must not make it call AWS."""
    monkeypatch.setenv("MYSQL_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
    env = packaging_env(load_config(), "prod")
    assert "MYSQL_SECRET_ARN" not in env
    assert env["QUEUE_PREFIX"] == "surge-"
    assert env["AWS_DEFAULT_REGION"]


def test_cfn_lint_is_clean(package_dir: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(package_dir / "sam.json")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_payments_worker_reads_its_queue_and_reports_partial_failures(package_dir: Path) -> None:
    template = template_of(package_dir)
    resources = template["Resources"]
    event = resources["StorePayments"]["Properties"]["Events"]["StorePaymentsSqsEventSource"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Queue"] == {"Fn::Sub": "${PaymentsQueue.Arn}"}
    queue = resources["PaymentsQueue"]["Properties"]
    assert queue["QueueName"] == "surge-payments"
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["PaymentsDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * resources["StorePayments"]["Properties"]["Timeout"]
    assert resources["PaymentsDeadLetterQueue"]["Properties"]["QueueName"] == "surge-payments-dlq"
    assert resources["StorePayments"]["Properties"]["ReservedConcurrentExecutions"] == function_setting(
        load_config(), "prod", "store_payments", "reserved_concurrency"
    )
    alarms = {k: r["Properties"]["MetricName"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert (
        alarms.items()
        >= {
            "PaymentsDeadLetterQueueDepthAlarm": "ApproximateNumberOfMessagesVisible",
            "PaymentsQueueAgeAlarm": "ApproximateAgeOfOldestMessage",
        }.items()
    )


def test_every_sqs_mapping_in_the_package_is_covered(package_dir: Path) -> None:
    template = template_of(package_dir)
    events = sqs_events(template)
    assert events, "the app has SQS handlers; the template must map them"
    for where, props in events.items():
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], where
    verify_template(template)  # raises on any gap


def test_functions_may_send_to_the_queues_and_read_the_secret(package_dir: Path) -> None:
    """Chalice's generated policy only lets the workers consume; the gateway must send."""
    role = template_of(package_dir)["Resources"]["DefaultRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    sqs = next(s for s in statements if "sqs:SendMessage" in s.get("Action", []))
    assert {"Fn::Sub": "${PaymentsQueue.Arn}"} in sqs["Resource"]
    assert "*" not in sqs["Resource"]
    dlq = next(s for s in statements if s.get("Action") == ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"])
    # read only: no consuming from DLQs
    assert sorted(r["Fn::Sub"] for r in dlq["Resource"]) == [
        "${OrdersDeadLetterQueue.Arn}",
        "${PaymentsDeadLetterQueue.Arn}",
    ]
    assert {"Fn::Sub": "${OrdersQueue.Arn}"} in sqs["Resource"]
    secrets = {s["Fn::If"][0]: s["Fn::If"][1] for s in statements if "Fn::If" in s}
    assert secrets["HasMysqlSecret"]["Resource"] == {"Ref": "MysqlSecretArn"}
    assert secrets["HasAdminKeySecret"]["Resource"] == {"Ref": "AdminKeySecretArn"}
    assert {s["Action"][0] for s in secrets.values()} == {"secretsmanager:GetSecretValue"}


def test_every_function_runs_on_the_supported_runtime_with_parameters(package_dir: Path) -> None:
    template = template_of(package_dir)
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert {f["Properties"]["Runtime"] for f in functions} == {LAMBDA_RUNTIME}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["REDIS_URL"] == {"Ref": "RedisUrl"}
    assert variables["MYSQL_SECRET_ARN"] == {"Ref": "MysqlSecretArn"}
    assert variables["ADMIN_KEY_SECRET_ID"] == {"Ref": "AdminKeySecretArn"}
    assert sorted(variables["QUEUE_URLS"]["Fn::Sub"].split(",")) == [
        "surge-orders=${OrdersQueue}",
        "surge-payments=${PaymentsQueue}",
    ]
    assert {"RedisUrl", "MysqlHost", "MysqlSecretArn", "SubnetIds", "SecurityGroupIds"} <= set(template["Parameters"])


# ---------------------------------------------------------------- the checks catch what they must


@pytest.fixture(scope="module")
def good_template(package_dir: Path) -> dict[str, Any]:
    return template_of(package_dir)


def _broken(template: dict[str, Any], change: Any) -> dict[str, Any]:
    broken = copy.deepcopy(template)
    change(broken["Resources"])
    return broken


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["StorePayments"]["Properties"]["Events"]["StorePaymentsSqsEventSource"]["Properties"].pop(
                "FunctionResponseTypes"
            ),
            "ReportBatchItemFailures",
        ),
        (
            # the pitfall: Fn::GetAtt merged over Chalice's Fn::Sub leaves both keys
            lambda r: r["StorePayments"]["Properties"]["Events"]["StorePaymentsSqsEventSource"]["Properties"][
                "Queue"
            ].update({"Fn::GetAtt": ["PaymentsQueue", "Arn"]}),
            "one Fn::Sub",
        ),
        (lambda r: r["PaymentsQueue"]["Properties"].update(VisibilityTimeout=30), "VisibilityTimeout"),
        (lambda r: r["PaymentsQueue"]["Properties"]["RedrivePolicy"].update(maxReceiveCount=1), "maxReceiveCount"),
        (lambda r: r.pop("PaymentsDeadLetterQueue"), "no DLQ"),
        (lambda r: r["StorePayments"]["Properties"].pop("ReservedConcurrentExecutions"), "ReservedConcurrent"),
        (lambda r: r["APIHandler"]["Properties"].update(Runtime="python3.11"), "Runtime"),
    ],
)
def test_verify_template_rejects(good_template: dict[str, Any], change: Any, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        verify_template(_broken(good_template, change))


def test_a_new_worker_gets_its_queue_dlq_alarms_and_mapping() -> None:
    """The orders worker (or any other) is covered by iterating the app's handlers."""
    handlers = [
        SqsHandler("store_payments", "surge-payments", "payments", 50, 1),
        SqsHandler("store_orders", "surge-orders", "orders", 25, 0),
    ]
    merged = merge_template(load_config(), "prod", handlers)
    resources = merged["Resources"]
    assert resources["OrdersQueue"]["Properties"]["QueueName"] == "surge-orders"
    assert resources["OrdersQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    # no timeout configured for store_orders: Chalice's top-level lambda_timeout applies
    timeout = function_setting(load_config(), "prod", "store_orders", "lambda_timeout")
    assert resources["OrdersQueue"]["Properties"]["VisibilityTimeout"] >= VISIBILITY_FACTOR * timeout
    assert resources["OrdersDeadLetterQueue"]["Properties"]["QueueName"] == "surge-orders-dlq"
    assert {"OrdersDeadLetterQueueDepthAlarm", "OrdersQueueAgeAlarm"} <= set(resources)
    orders = resources["StoreOrders"]["Properties"]
    assert orders["Events"]["StoreOrdersSqsEventSource"]["Properties"] == {
        "Queue": {"Fn::Sub": "${OrdersQueue.Arn}"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    assert orders["ReservedConcurrentExecutions"] > 0  # a default when config.json sets none
    sqs = resources["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][1]
    assert {"Fn::Sub": "${OrdersQueue.Arn}"} in sqs["Resource"]


# ---------------------------------------------------------------- the zip on its own


IMPORT_CHECK = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
from functions.workers.payments import store_payments
from functions.reconcile.schedule import reconcile_every_minute
from functions.adapters.redis_client import lua_source
from functions.adapters.schema import SQL_DIR
import pymysql, redis, hiredis, aws_lambda_powertools
handlers = {
    "api": type(app.app).__name__,
    "sqs": [s.name for s in app.app.event_sources if type(s).__name__ == "SQSEventConfig"],
}
print(json.dumps({
    "handlers": handlers,
    "store_payments": type(store_payments).__name__,
    "lua": all(lua_source(name) for name in ("record_payment", "bucket_window", "reserve_stock", "statistics")),
    "sql": sorted(p.name for p in SQL_DIR.glob("*.sql")),
    "files": {m: sys.modules[m].__file__ for m in ("app", "functions", "pymysql", "redis", "hiredis", "chalice")},
    "python": "%d.%d" % sys.version_info[:2],
}))
"""


def test_the_zip_imports_with_nothing_but_the_lambda_runtime(package_dir: Path, tmp_path: Path) -> None:
    """Unzipped alone, on the runtime's Python with only boto3 beside it (-I -S: no site-packages)."""
    code = tmp_path / "code"
    with zipfile.ZipFile(package_dir / "deployment.zip") as zf:
        zf.extractall(code)
    python = lambda_venv()
    result = subprocess.run(
        [str(python), "-I", "-S", "-c", IMPORT_CHECK, str(code), str(lambda_runtime_site())],
        capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["handlers"]["api"] == "Chalice"
    assert "store_payments" in report["handlers"]["sqs"]
    assert report["store_payments"] == "EventSourceHandler"  # Lambda calls it with the raw event
    assert report["lua"] is True
    assert report["sql"] == sorted(p.name for p in (REPO / "sql").glob("*.sql"))
    for module, path in report["files"].items():
        assert path.startswith(str(code)), f"{module} came from {path}, not from the package"
    assert report["python"] == LAMBDA_RUNTIME.removeprefix("python")
