"""Custom cfn-lint rules: what loses payments or logs on AWS without an error at deploy time.

They run on the template after the SAM transform, so they see the real event source
mappings and log groups, whichever tool wrote them.
"""

from __future__ import annotations

import json
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch


def _sqs_queue_ids(cfn: Any) -> set[str]:
    return set(cfn.get_resources(["AWS::SQS::Queue"]))


def _refers_to(value: Any, ids: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"{i}"' in text or f"${{{i}.Arn}}" in text for i in ids)


class SqsMappingReportsPartialFailures(CloudFormationLintRule):
    """Every SQS event source mapping reports batch item failures and caps its pollers."""

    id = "E9101"
    shortdesc = "SQS event source mappings report partial failures and cap their concurrency"
    description = (
        "Without FunctionResponseTypes [ReportBatchItemFailures] Lambda deletes the whole batch on a normal "
        "return; without ScalingConfig.MaximumConcurrency the pollers outgrow the function's reserved "
        "concurrency and throttled batches push valid messages towards the DLQ."
    )
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html"
    tags = ["resources", "lambda", "sqs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        queues = _sqs_queue_ids(cfn)
        for name, resource in cfn.get_resources(["AWS::Lambda::EventSourceMapping"]).items():
            props = resource.get("Properties", {})
            if not _refers_to(props.get("EventSourceArn"), queues):
                continue
            path = ["Resources", name, "Properties"]
            if "ReportBatchItemFailures" not in (props.get("FunctionResponseTypes") or []):
                matches.append(RuleMatch(path, f"{name}: FunctionResponseTypes lacks ReportBatchItemFailures"))
            if not (props.get("ScalingConfig") or {}).get("MaximumConcurrency"):
                matches.append(RuleMatch(path, f"{name}: no ScalingConfig.MaximumConcurrency"))
        return matches


class LogGroupsExpire(CloudFormationLintRule):
    """Every log group has a retention."""

    id = "E9102"
    shortdesc = "Log groups have a retention"
    description = "A log group without RetentionInDays keeps every line forever, and is billed for it."
    source_url = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html"
    tags = ["resources", "logs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        return [
            RuleMatch(["Resources", name, "Properties"], f"{name}: no RetentionInDays")
            for name, resource in cfn.get_resources(["AWS::Logs::LogGroup"]).items()
            if not resource.get("Properties", {}).get("RetentionInDays")
        ]
