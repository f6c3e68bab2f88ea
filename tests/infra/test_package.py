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
    scripts += sorted(str(p) for p in (REPO / "tests" / "infra" / "stubs").iterdir())
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_packaging_needs_no_credentials_even_with_the_secret_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app is imported while packaging: an exported MYSQL_SECRET_ARN must not make it call AWS."""
    monkeypatch.setenv("MYSQL_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
    env = packaging_env(load_config(), "prod")
    assert "MYSQL_SECRET_ARN" not in env
    assert env["QUEUE_PREFIX"] == "surge-"
    assert env["AWS_DEFAULT_REGION"]


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint as the scripts run it: from the repository, so .cfnlintrc adds our rules."""
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    return subprocess.run([cfn_lint, str(template)], capture_output=True, text=True, cwd=REPO)


def test_cfn_lint_is_clean(package_dir: Path) -> None:
    result = cfn_lint(package_dir / "sam.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_custom_cfn_lint_rules_catch_a_mapping_and_a_log_group(package_dir: Path, tmp_path: Path) -> None:
    """infra/cfnlint_rules: on the transformed template, whatever wrote it."""
    template = template_of(package_dir)
    event = template["Resources"]["StorePayments"]["Properties"]["Events"]["StorePaymentsSqsEventSource"]
    event["Properties"].pop("FunctionResponseTypes")
    event["Properties"].pop("ScalingConfig")
    template["Resources"]["StorePaymentsLogGroup"]["Properties"].pop("RetentionInDays")
    broken = tmp_path / "sam.json"
    broken.write_text(json.dumps(template))
    result = cfn_lint(broken)
    assert result.returncode != 0
    assert "E9101" in result.stdout and "ReportBatchItemFailures" in result.stdout
    assert "MaximumConcurrency" in result.stdout
    assert "E9102" in result.stdout


def test_payments_worker_reads_its_queue_and_reports_partial_failures(package_dir: Path) -> None:
    template = template_of(package_dir)
    resources = template["Resources"]
    event = resources["StorePayments"]["Properties"]["Events"]["StorePaymentsSqsEventSource"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Queue"] == {"Fn::Sub": "${PaymentsQueue.Arn}"}
    assert (
        event["ScalingConfig"]["MaximumConcurrency"]
        <= resources["StorePayments"]["Properties"]["ReservedConcurrentExecutions"]
    )
    queue = resources["PaymentsQueue"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "${AWS::StackName}-payments"}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["PaymentsDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * resources["StorePayments"]["Properties"]["Timeout"]
    assert resources["PaymentsDeadLetterQueue"]["Properties"]["QueueName"] == {
        "Fn::Sub": "${AWS::StackName}-payments-dlq"
    }
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


def _policy(template: dict[str, Any], fn_id: str) -> list[dict[str, Any]]:
    """The statements of a function's own role (the ``Fn::If`` ones as their 'true' branch)."""
    resources = template["Resources"]
    role = resources[fn_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return [s["Fn::If"][1] if "Fn::If" in s else s for s in statements]


def _allowed(statements: list[dict[str, Any]], prefix: str) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = {}
    for s in statements:
        for action in s["Action"]:
            if action.startswith(prefix):
                resource = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                result.setdefault(action, []).extend(resource)
    return result


def test_each_function_has_a_role_with_only_what_it_uses(package_dir: Path) -> None:
    """The API sends to the work queues; a worker consumes its own queue; only the API reads the admin key."""
    template = template_of(package_dir)
    assert "DefaultRole" not in template["Resources"]
    queue = {"Fn::GetAtt": ["PaymentsQueue", "Arn"]}
    orders = {"Fn::GetAtt": ["OrdersQueue", "Arn"]}
    api = _allowed(_policy(template, "APIHandler"), "sqs:")
    assert sorted(api["sqs:SendMessage"], key=str) == sorted([queue, orders], key=str)
    assert "sqs:ReceiveMessage" not in api and "sqs:DeleteMessage" not in api
    assert {"Fn::GetAtt": ["PaymentsDeadLetterQueue", "Arn"]} in api["sqs:GetQueueAttributes"]
    worker = _allowed(_policy(template, "StorePayments"), "sqs:")
    assert set(worker) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    assert all(resources == [queue] for resources in worker.values())
    admin = {"Ref": "AdminKeySecretArn"}
    assert admin in _allowed(_policy(template, "APIHandler"), "secretsmanager:")["secretsmanager:GetSecretValue"]
    for fn_id in ("StorePayments", "SettleOrders", "ReconcileEveryMinute"):
        secrets = _allowed(_policy(template, fn_id), "secretsmanager:")["secretsmanager:GetSecretValue"]
        assert secrets == [{"Ref": "MysqlSecretArn"}], fn_id
    for fn_id in ("APIHandler", "StorePayments", "SettleOrders", "ReconcileEveryMinute"):
        logs = _allowed(_policy(template, fn_id), "logs:")
        assert set(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}, fn_id


def test_the_schema_is_migrated_in_the_stack_before_the_functions(package_dir: Path) -> None:
    from infra.package import sql_digest

    resources = template_of(package_dir)["Resources"]
    migration = resources["SchemaMigration"]
    token = {"Fn::GetAtt": ["MigrateSchema", "Arn"]}
    assert migration["Properties"] == {"ServiceToken": token, "SqlDigest": sql_digest()}
    for fn_id in ("APIHandler", "StorePayments", "SettleOrders", "ReconcileEveryMinute"):
        assert "SchemaMigration" in resources[fn_id]["DependsOn"], fn_id
    assert resources["MigrateSchema"]["Properties"]["Handler"] == "functions.schema_migration.migrate_schema"


def test_functions_trace_log_with_retention_and_alarm(package_dir: Path) -> None:
    template = template_of(package_dir)
    resources = template["Resources"]
    for fn_id in ("APIHandler", "StorePayments", "SettleOrders", "ReconcileEveryMinute"):
        props = resources[fn_id]["Properties"]
        assert props["Tracing"] == "Active"
        group = resources[props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert "${AWS::StackName}" in group["LogGroupName"]["Fn::Sub"]
        assert {f"{fn_id}ErrorsAlarm", f"{fn_id}ThrottlesAlarm"} <= set(resources)
    reconcile = resources["ReconcileEveryMinute"]["Properties"]
    assert reconcile["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}
    api = resources["RestAPI"]["Properties"]
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRate"}
    assert api["TracingEnabled"] is True
    assert api["Name"] == api["DefinitionBody"]["info"]["title"] == {"Ref": "AWS::StackName"}
    api5xx = resources["Api5XXAlarm"]["Properties"]["Dimensions"]
    assert {"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}} in api5xx
    assert "/payment/direct" not in api["DefinitionBody"]["paths"]
    assert "/payment" in api["DefinitionBody"]["paths"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert {a["MetricName"] for a in alarms} >= {"Errors", "Throttles", "5XXError"}
    assert all(a["AlarmActions"] for a in alarms)


def test_every_function_runs_on_the_supported_runtime_with_parameters(package_dir: Path) -> None:
    template = template_of(package_dir)
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert {f["Properties"]["Runtime"] for f in functions} == {LAMBDA_RUNTIME}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["REDIS_URL"] == {"Ref": "RedisUrl"}
    assert variables["MYSQL_SECRET_ARN"] == {"Ref": "MysqlSecretArn"}
    assert variables["ADMIN_KEY_SECRET_ID"] == {"Ref": "AdminKeySecretArn"}
    assert sorted(variables["QUEUE_URLS"]["Fn::Sub"].split(",")) == [
        "surge-orders-dlq=${OrdersDeadLetterQueue}",
        "surge-orders=${OrdersQueue}",
        "surge-payments-dlq=${PaymentsDeadLetterQueue}",
        "surge-payments=${PaymentsQueue}",
    ]
    assert variables["OPERATOR_AUTH"] == "admin-key"
    assert variables["MYSQL_SESSION_INIT"] == {"Ref": "MysqlSessionInit"}
    assert {"RedisUrl", "MysqlHost", "MysqlSecretArn", "SubnetIds", "SecurityGroupIds"} <= set(template["Parameters"])
    assert template["Parameters"]["RedisUrl"]["NoEcho"] is True  # it carries the Redis AUTH token


# ---------------------------------------------------------------- the checks catch what they must


@pytest.fixture(scope="module")
def good_template(package_dir: Path) -> dict[str, Any]:
    return template_of(package_dir)


def _esm(resources: dict[str, Any]) -> dict[str, Any]:
    return dict(resources["StorePayments"]["Properties"]["Events"]["StorePaymentsSqsEventSource"])


def _statements(resources: dict[str, Any], role: str) -> list[Any]:
    statements: list[Any] = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return statements


def _grant(role: str, action: str, resource: Any) -> Any:
    """A change that adds one statement to ``role``'s policy."""
    statement = {"Effect": "Allow", "Action": [action], "Resource": resource}
    return lambda resources: _statements(resources, role).append(statement)


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
        (lambda r: _esm(r)["Properties"].pop("ScalingConfig"), "no ScalingConfig.MaximumConcurrency"),
        (
            lambda r: _esm(r)["Properties"].update(ScalingConfig={"MaximumConcurrency": 11}),
            "MaximumConcurrency 11 > ReservedConcurrentExecutions 10",
        ),
        (lambda r: r["StorePayments"]["Properties"].update(Tracing="PassThrough"), "Tracing is not Active"),
        (lambda r: r["StorePayments"]["Properties"].pop("LoggingConfig"), "no LoggingConfig.LogGroup"),
        (lambda r: r["StorePaymentsLogGroup"]["Properties"].pop("RetentionInDays"), "no RetentionInDays"),
        (lambda r: r.pop("StorePaymentsThrottlesAlarm"), "StorePayments: no Throttles alarm"),
        (lambda r: r.pop("ReconcileEveryMinuteErrorsAlarm"), "ReconcileEveryMinute: no Errors alarm"),
        (lambda r: r.pop("Api5XXAlarm"), "no API 5XXError alarm"),
        (
            lambda r: r["PaymentsQueueAgeAlarm"]["Properties"].update(
                AlarmActions={"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
            ),
            "PaymentsQueueAgeAlarm: no AlarmActions",
        ),
        (lambda r: r["RestAPI"]["Properties"].pop("MethodSettings"), "no stage throttling"),
        (lambda r: r["ReconcileEveryMinute"]["Properties"].pop("EventInvokeConfig"), "MaximumRetryAttempts"),
        (lambda r: r["PaymentsQueue"]["Properties"].update(QueueName="surge-payments"), "not scoped to the stack"),
        (
            lambda r: r["StorePayments"]["Properties"].update(Role={"Fn::GetAtt": ["APIHandlerRole", "Arn"]}),
            "one role shared by APIHandler, StorePayments",
        ),
        (
            _grant("APIHandlerRole", "logs:CreateLogGroup", "*"),
            "CreateLogGroup",
        ),
        (
            _grant("APIHandlerRole", "sqs:ReceiveMessage", [{"Fn::GetAtt": ["PaymentsQueue", "Arn"]}]),
            "the API only sends",
        ),
        (
            _grant("StorePaymentsRole", "sqs:SendMessage", [{"Fn::GetAtt": ["PaymentsQueue", "Arn"]}]),
            "only the API sends",
        ),
        (
            _grant("StorePaymentsRole", "sqs:ReceiveMessage", [{"Fn::GetAtt": ["OrdersQueue", "Arn"]}]),
            "not its own queue",
        ),
        (
            _grant("SettleOrdersRole", "secretsmanager:GetSecretValue", {"Ref": "AdminKeySecretArn"}),
            "SettleOrders: may read the admin key",
        ),
        (
            lambda r: r["RestAPI"]["Properties"]["DefinitionBody"]["paths"].update({"/payment/direct": {}}),
            "/payment/direct is routed",
        ),
        (
            lambda r: r["APIHandler"]["Properties"].pop("ReservedConcurrentExecutions"),
            "APIHandler: no ReservedConcurrentExecutions",
        ),
        (
            lambda r: r["MigrateSchema"]["Properties"].pop("ReservedConcurrentExecutions"),
            "MigrateSchema: no ReservedConcurrentExecutions",
        ),
        (
            # a parameter that lets the deployer lift the bound is no bound
            lambda r: r["APIHandler"]["Properties"].update(ReservedConcurrentExecutions={"Ref": "MysqlPort"}),
            "APIHandler: no ReservedConcurrentExecutions",
        ),
        (lambda r: r.pop("ApiWebAclAssociation"), "no ApiWebAclAssociation"),
        (
            lambda r: r["ApiWebAcl"]["Properties"]["Rules"].pop(0),
            "no rate-based rule per client IP",
        ),
        (
            lambda r: r["ApiWebAcl"]["Properties"]["Rules"].pop(1),
            "no AWSManagedRulesCommonRuleSet",
        ),
        (lambda r: r.pop("SchemaMigration"), "no SchemaMigration"),
        (lambda r: r["StorePayments"].pop("DependsOn"), "StorePayments: does not depend on SchemaMigration"),
    ],
)
def test_verify_template_rejects(good_template: dict[str, Any], change: Any, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        verify_template(_broken(good_template, change))


def test_every_function_has_a_concurrency_bound_the_api_one_a_parameter(package_dir: Path) -> None:
    template = template_of(package_dir)
    resources = template["Resources"]
    api = resources["APIHandler"]["Properties"]["ReservedConcurrentExecutions"]
    assert api == {"Ref": "ApiReservedConcurrency"}
    parameter = template["Parameters"]["ApiReservedConcurrency"]
    assert parameter["MinValue"] >= 1 and parameter["Default"] >= 1
    assert resources["MigrateSchema"]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert resources["ReconcileEveryMinute"]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_the_api_stage_is_behind_a_web_acl_created_or_given(package_dir: Path) -> None:
    """WafEnabled (default true) creates a REGIONAL web ACL; WebAclArn associates the user's."""
    template = template_of(package_dir)
    resources = template["Resources"]
    acl = resources["ApiWebAcl"]
    assert acl["Type"] == "AWS::WAFv2::WebACL" and acl["Condition"] == "CreateWebAcl"
    assert acl["Properties"]["Scope"] == "REGIONAL"
    rate, common = acl["Properties"]["Rules"]
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": {"Ref": "WafRateLimitPerIp"}, "AggregateKeyType": "IP"}
    assert rate["Action"] == {"Block": {}}
    assert common["Statement"]["ManagedRuleGroupStatement"]["Name"] == "AWSManagedRulesCommonRuleSet"
    association = resources["ApiWebAclAssociation"]
    assert association["Condition"] == "AssociateWebAcl"
    assert "/restapis/${RestAPI}/stages/${RestAPI.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert association["Properties"]["WebACLArn"] == {
        "Fn::If": ["UseWebAclArn", {"Ref": "WebAclArn"}, {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}]
    }
    assert template["Parameters"]["WafEnabled"]["Default"] == "true"
    assert template["Parameters"]["WebAclArn"]["Default"] == ""
    # cfn-lint accepts it: test_cfn_lint_is_clean runs on this very template


def test_a_new_worker_gets_its_queue_dlq_alarms_and_mapping() -> None:
    """The orders worker (or any other) is covered by iterating the app's handlers."""
    handlers = [
        SqsHandler("store_payments", "surge-payments", "payments", 50, 1),
        SqsHandler("store_orders", "surge-orders", "orders", 25, 0),
    ]
    merged = merge_template(load_config(), "prod", handlers)
    resources = merged["Resources"]
    assert resources["OrdersQueue"]["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}-orders"}
    assert resources["OrdersQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    # no timeout configured for store_orders: Chalice's top-level lambda_timeout applies
    timeout = function_setting(load_config(), "prod", "store_orders", "lambda_timeout")
    assert resources["OrdersQueue"]["Properties"]["VisibilityTimeout"] >= VISIBILITY_FACTOR * timeout
    assert resources["OrdersDeadLetterQueue"]["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}-orders-dlq"}
    assert {"OrdersDeadLetterQueueDepthAlarm", "OrdersQueueAgeAlarm"} <= set(resources)
    orders = resources["StoreOrders"]["Properties"]
    assert orders["ReservedConcurrentExecutions"] > 0  # a default when config.json sets none
    assert orders["Events"]["StoreOrdersSqsEventSource"]["Properties"] == {
        "Queue": {"Fn::Sub": "${OrdersQueue.Arn}"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": orders["ReservedConcurrentExecutions"]},
    }


# ---------------------------------------------------------------- the zip on its own


IMPORT_CHECK = """
import json, os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
from functions.workers.payments import store_payments
from functions.reconcile.schedule import reconcile_every_minute
from functions.adapters.redis_client import lua_source
from functions.adapters.schema import SQL_DIR
import pymysql, redis, hiredis, aws_lambda_powertools
from aws_lambda_powertools import Tracer
from functions.telemetry.tracing import PATCHED, SERVICE
os.environ["LAMBDA_TASK_ROOT"] = sys.argv[1]  # as on Lambda: the Tracer turns on, X-Ray SDK patching included
tracer = Tracer(service=SERVICE, patch_modules=PATCHED)
handlers = {
    "api": type(app.app).__name__,
    "sqs": [s.name for s in app.app.event_sources if type(s).__name__ == "SQSEventConfig"],
}
print(json.dumps({
    "handlers": handlers,
    "store_payments": type(store_payments).__name__,
    "lua": all(lua_source(name) for name in ("record_payment", "reserve_stock", "statistics")),
    "sql": sorted(p.name for p in SQL_DIR.glob("*.sql")),
    "tracer": not tracer.disabled,
    "files": {
        m: sys.modules[m].__file__
        for m in ("app", "functions", "pymysql", "redis", "hiredis", "chalice", "aws_xray_sdk", "wrapt")
    },
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
    assert report["tracer"] is True, "the Tracer runs on what the package ships"
    assert report["sql"] == sorted(p.name for p in (REPO / "sql").glob("*.sql"))
    for module, path in report["files"].items():
        assert path.startswith(str(code)), f"{module} came from {path}, not from the package"
    assert report["python"] == LAMBDA_RUNTIME.removeprefix("python")
