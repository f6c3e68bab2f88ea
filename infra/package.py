"""Build the deployable artifact: ``chalice package`` + the merge template, into ``build/<stage>/``.

Chalice ships only ``app.py``, ``chalicelib/`` and ``vendor/``; our code lives in
``functions/``. So the project is staged in ``build/chalice-project/`` (a copy, the
repository is never touched) with ``functions/`` and ``sql/`` under ``vendor/``, where
Chalice copies them to the root of ``deployment.zip``. The staging directory is reused
so Chalice's dependency cache (``.chalice/deployments``) stays warm.

The merge template is ``infra/merge-template.json`` (parameters, VPC, environment)
plus what every ``on_sqs_message`` handler of the app needs, generated here by
iterating the app's event sources: its queue and DLQ (redrive after
``MAX_RECEIVE_COUNT`` receives, visibility timeout >= 6x the worker's timeout), the
alarms, ``ReportBatchItemFailures`` on its event source mapping, and the IAM policy.
A new worker (say orders) is covered without editing any template.

Example::

    .venv/bin/python -m infra.package --stage prod      # -> build/prod/{sam.json,deployment.zip}
    .venv/bin/python -m infra.package --list-sqs-handlers
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infra.harden import alarm_actions, harden
from infra.rules import (
    CHALICE_DEFAULT_TIMEOUT,
    MAX_RECEIVE_COUNT,
    REPORT_BATCH_ITEM_FAILURES,
    VISIBILITY_FACTOR,
    problems,
)
from infra.venvs import lambda_venv

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
PROJECT = BUILD / "chalice-project"
STATIC_MERGE_TEMPLATE = REPO / "infra" / "merge-template.json"
CHALICE_CONFIG = REPO / ".chalice" / "config.json"
# what goes to the root of deployment.zip besides app.py and the requirements
SHIPPED_DIRS = ("functions", "sql")

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
DEFAULT_WORKER_CONCURRENCY = 5  # used when .chalice/config.json sets no reserved_concurrency
MIN_ESM_CONCURRENCY = 2  # the lowest ScalingConfig.MaximumConcurrency AWS accepts


class PackageError(RuntimeError):
    """The artifact or its template is not deployable as built."""


@dataclass(frozen=True)
class SqsHandler:
    """One ``on_sqs_message`` handler and the names Chalice gives it in the template."""

    function: str  # Chalice function name, e.g. "store_payments"
    queue: str  # queue name, e.g. "surge-payments"
    kind: str  # queue name without QUEUE_PREFIX, e.g. "payments"
    batch_size: int
    window_seconds: int

    @property
    def logical_id(self) -> str:
        return cfn_name(self.function)

    @property
    def event_id(self) -> str:
        return f"{self.logical_id}SqsEventSource"

    @property
    def queue_id(self) -> str:
        return f"{cfn_name(self.kind)}Queue"

    @property
    def dlq_id(self) -> str:
        return f"{cfn_name(self.kind)}DeadLetterQueue"


def cfn_name(name: str) -> str:
    """Chalice's logical id for a name: ``store_payments`` -> ``StorePayments``."""
    from chalice.utils import to_cfn_resource_name

    return str(to_cfn_resource_name(name.replace("-", "_")))


# ---------------------------------------------------------------- stage configuration


def load_config(path: Path = CHALICE_CONFIG) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    """The environment variables Chalice gives the functions of ``stage``."""
    return {**config.get("environment_variables", {}), **_stage(config, stage).get("environment_variables", {})}


def function_setting(config: dict[str, Any], stage: str, function: str, key: str, default: Any = None) -> Any:
    """A setting as Chalice resolves it: per function, then per stage, then top level."""
    stage_config = _stage(config, stage)
    per_function = stage_config.get("lambda_functions", {}).get(function, {})
    for scope in (per_function, stage_config, config):
        if key in scope:
            return scope[key]
    return default


def direct_payments_enabled(config: dict[str, Any], stage: str) -> bool:
    """Whether the stage routes ``POST /payment/direct`` (the load-test comparison path)."""
    return stage_environment(config, stage).get("PAYMENT_DIRECT_ENABLED", "0").lower() in ("1", "true", "yes", "on")


def _stage(config: dict[str, Any], stage: str) -> dict[str, Any]:
    try:
        return dict(config["stages"][stage])
    except KeyError:
        raise PackageError(f"stage {stage!r} is not in .chalice/config.json") from None


# never taken from the packaging machine's environment: the secret would be read at
# import; whether /payment/direct is routed is the stage's choice
STAGE_DECIDES = ("MYSQL_SECRET_ARN", "PAYMENT_DIRECT_ENABLED")


def packaging_env(config: dict[str, Any], stage: str) -> dict[str, str]:
    """The environment ``app`` is imported with while packaging: the stage's variables and
    a region, without what would make the import reach AWS (the secret is read at start)."""
    env = {k: v for k, v in os.environ.items() if k not in STAGE_DECIDES}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return {**env, **stage_environment(config, stage)}


# ---------------------------------------------------------------- the app's SQS handlers


def list_sqs_handlers(queue_prefix: str) -> list[SqsHandler]:
    """Import the app (in this process) and list its ``on_sqs_message`` handlers."""
    sys.path.insert(0, str(REPO))
    from chalice.app import SQSEventConfig

    from app import app
    from functions.workers.queues import queue_of

    handlers = []
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            queue = queue_of(source)
            kind = queue[len(queue_prefix) :] if queue.startswith(queue_prefix) else queue
            handlers.append(
                SqsHandler(source.name, queue, kind, source.batch_size, source.maximum_batching_window_in_seconds)
            )
    return handlers


def discover_sqs_handlers(python: Path, config: dict[str, Any], stage: str) -> list[SqsHandler]:
    """The handlers as the stage sees them: queue names are fixed when ``app`` is imported,
    from the stage's QUEUE_PREFIX, so the app is imported in a child with that environment."""
    env = packaging_env(config, stage)
    result = subprocess.run(
        [str(python), "-m", "infra.package", "--list-sqs-handlers"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise PackageError(f"importing app.py for stage {stage} failed:\n{result.stderr[-4000:]}")
    return [SqsHandler(**item) for item in json.loads(result.stdout)]


# ---------------------------------------------------------------- the merge template


def deep_merge(overlay: Any, base: Any) -> Any:
    """Chalice's merge rule: dicts merge key by key, anything else in ``overlay`` wins."""
    if isinstance(overlay, dict) and isinstance(base, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(value, base.get(key))
        return merged
    return copy.deepcopy(overlay)


def stack_scoped(name: str) -> dict[str, str]:
    """A physical name that two stacks in one account cannot share: ``<stack>-payments``."""
    return {"Fn::Sub": f"${{AWS::StackName}}-{name}"}


def queue_resources(handler: SqsHandler, worker_timeout: int) -> dict[str, Any]:
    """Queue, DLQ and their alarms for one handler."""
    visibility = VISIBILITY_FACTOR * worker_timeout + math.ceil(handler.window_seconds)
    alarm_common = {
        "Namespace": "AWS/SQS",
        "Statistic": "Maximum",
        "Period": 60,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": alarm_actions(),
    }
    return {
        handler.dlq_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": stack_scoped(f"{handler.kind}-dlq"),
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            },
        },
        handler.queue_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": stack_scoped(handler.kind),
                "VisibilityTimeout": visibility,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [handler.dlq_id, "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        },
        f"{handler.dlq_id}DepthAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                **alarm_common,
                "AlarmDescription": f"Messages in {handler.queue}-dlq: they failed {MAX_RECEIVE_COUNT} times. "
                f"Inspect with `surge dlq show --queue {handler.kind}`.",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [handler.dlq_id, "QueueName"]}}],
                "EvaluationPeriods": 1,
                "Threshold": 0,
            },
        },
        f"{handler.queue_id}AgeAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                **alarm_common,
                "AlarmDescription": f"{handler.queue} is falling behind: its oldest message is too old.",
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [handler.queue_id, "QueueName"]}}],
                "EvaluationPeriods": 3,
                "Threshold": {"Ref": "QueueAgeAlarmSeconds"},
            },
        },
    }


def function_overlay(handler: SqsHandler, reserved_concurrency: int) -> dict[str, Any]:
    """Point the handler's event source mapping at our queue, turn partial batch responses
    on, and cap the mapping's pollers at the function's reserved concurrency: more pollers
    than the function may run get their batches throttled, and each throttle is a receive
    that brings a valid payment closer to the DLQ.

    ``Queue`` is an ``Fn::Sub`` because Chalice writes one there: merging ``Fn::GetAtt``
    over it would leave both keys in one object, an invalid template.
    """
    if reserved_concurrency < MIN_ESM_CONCURRENCY:
        raise PackageError(
            f"{handler.function}: reserved_concurrency {reserved_concurrency} < {MIN_ESM_CONCURRENCY}, "
            "the lowest MaximumConcurrency of an SQS event source mapping"
        )
    properties: dict[str, Any] = {
        "ReservedConcurrentExecutions": reserved_concurrency,
        "Events": {
            handler.event_id: {
                "Properties": {
                    "Queue": {"Fn::Sub": f"${{{handler.queue_id}.Arn}}"},
                    "FunctionResponseTypes": REPORT_BATCH_ITEM_FAILURES,
                    "ScalingConfig": {"MaximumConcurrency": reserved_concurrency},
                }
            }
        },
    }
    return {handler.logical_id: {"Properties": properties}}


def outputs(handlers: list[SqsHandler]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for h in handlers:
        result[f"{h.queue_id}Url"] = {"Value": {"Ref": h.queue_id}}
        result[f"{h.dlq_id}Url"] = {"Value": {"Ref": h.dlq_id}}
    return result


def merge_template(config: dict[str, Any], stage: str, handlers: list[SqsHandler]) -> dict[str, Any]:
    """``infra/merge-template.json`` plus the generated part for ``handlers``."""
    if not handlers:
        raise PackageError("the app has no on_sqs_message handler: nothing would consume the queues")
    resources: dict[str, Any] = {}
    for h in handlers:
        timeout = int(function_setting(config, stage, h.function, "lambda_timeout", CHALICE_DEFAULT_TIMEOUT))
        concurrency = function_setting(config, stage, h.function, "reserved_concurrency")
        if concurrency is None:
            print(
                f"warning: {h.function} has no reserved_concurrency in .chalice/config.json; "
                f"using {DEFAULT_WORKER_CONCURRENCY}",
                file=sys.stderr,
            )
        resources.update(queue_resources(h, timeout))
        resources.update(function_overlay(h, DEFAULT_WORKER_CONCURRENCY if concurrency is None else int(concurrency)))
    # by Ref: the functions skip the GetQueueUrl lookup, and depend on the queues, so
    # the API is never live before the queue it sends to exists
    # the DLQs too: their names are the stack's, not the ones the app derives
    queue_urls = ",".join(f"{h.queue}=${{{h.queue_id}}},{h.queue}-dlq=${{{h.dlq_id}}}" for h in handlers)
    generated = {
        "Globals": {"Function": {"Environment": {"Variables": {"QUEUE_URLS": {"Fn::Sub": queue_urls}}}}},
        "Resources": resources,
        "Outputs": outputs(handlers),
    }
    return dict(deep_merge(generated, json.loads(STATIC_MERGE_TEMPLATE.read_text())))


# ---------------------------------------------------------------- checks on the result


def verify_template(template: dict[str, Any], direct_payments: bool = False) -> None:
    """What AWS would not tell us until messages are lost or a bill arrives; see
    ``infra/rules.py`` for each rule."""
    found = problems(template, direct_payments)
    if found:
        raise PackageError("template not deployable:\n  " + "\n  ".join(found))


def sql_digest() -> str:
    """A digest of ``sql/``: the schema migration resource reruns when it changes."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "sql").glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def verify_zip(zip_path: Path) -> None:
    """``functions/`` (with its Lua scripts) and ``sql/`` are inside the package."""
    names = set(zipfile.ZipFile(zip_path).namelist())
    expected = {"app.py"}
    for top in SHIPPED_DIRS:
        for path in (REPO / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                expected.add(path.relative_to(REPO).as_posix())
    missing = sorted(expected - names)
    if missing:
        raise PackageError(f"missing from {zip_path.name}: {', '.join(missing[:10])}")


# ---------------------------------------------------------------- building


@contextmanager
def _locked() -> Iterator[None]:
    """One build at a time: parallel test runs share the staging directory."""
    BUILD.mkdir(exist_ok=True)
    with (BUILD / ".package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def stage_project() -> Path:
    """Copy app.py, the requirements and .chalice/config.json to PROJECT; our code into vendor/."""
    PROJECT.mkdir(parents=True, exist_ok=True)
    (PROJECT / ".chalice").mkdir(exist_ok=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(REPO / name, PROJECT / name)
    for config_file in (REPO / ".chalice").glob("*.json"):
        shutil.copy2(config_file, PROJECT / ".chalice" / config_file.name)
    vendor = PROJECT / "vendor"
    shutil.rmtree(vendor, ignore_errors=True)
    for top in SHIPPED_DIRS:
        shutil.copytree(REPO / top, vendor / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return PROJECT


def build(stage: str = "prod", out: Path | None = None) -> Path:
    """Package ``stage`` into ``out`` (default ``build/<stage>``) and check the result.

    Returns ``out``, holding ``sam.json`` (the merged template) and ``deployment.zip``.
    Needs a region (defaults to us-east-1) but no AWS credentials.
    """
    out = (out or BUILD / stage).resolve()
    config = load_config()
    python = lambda_venv()  # Chalice packages for the Python it runs on
    with _locked():
        handlers = discover_sqs_handlers(python, config, stage)
        merged_path = BUILD / f"merge-template.{stage}.json"
        merged_path.write_text(json.dumps(merge_template(config, stage, handlers), indent=2) + "\n")
        project = stage_project()
        shutil.rmtree(out, ignore_errors=True)
        env = packaging_env(config, stage)
        chalice = python.with_name("chalice")
        subprocess.run(
            [str(chalice), "--project-dir", str(project), "package", "--stage", stage,
             "--merge-template", str(merged_path), str(out)],
            check=True, env=env, cwd=project,
        )  # fmt: skip
        shutil.rmtree(project / "vendor", ignore_errors=True)
    sam = out / "sam.json"
    queues = {h.logical_id: h.queue_id for h in handlers}
    template = harden(json.loads(sam.read_text()), queues, [h.dlq_id for h in handlers], sql_digest())
    sam.write_text(json.dumps(template, indent=2) + "\n")
    verify_template(template, direct_payments_enabled(config, stage))
    verify_zip(out / "deployment.zip")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, help="output directory (default build/<stage>)")
    parser.add_argument("--list-sqs-handlers", action="store_true", help="print the app's SQS handlers as JSON")
    args = parser.parse_args(argv)
    if args.list_sqs_handlers:
        prefix = os.environ.get("QUEUE_PREFIX", "surge-")
        print(json.dumps([asdict(h) for h in list_sqs_handlers(prefix)]))
        return 0
    try:
        out = build(args.stage, args.out)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
