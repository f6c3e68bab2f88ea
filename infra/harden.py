"""What every function of the packaged template gets after ``chalice package``: its own
IAM role with only what it uses, a log group with retention, active tracing, Errors and
Throttles alarms; the API function's concurrency bound; the API stage's throttling, 5XX
alarm and web ACL; no async retries for schedules.

Chalice writes one ``DefaultRole`` for all functions and no log groups; a merge template
cannot delete a resource, so this runs on the packaged ``sam.json`` (``infra/package.py``).

Example::

    harden(template, queues={"StorePayments": "PaymentsQueue"}, dlqs=["PaymentsDeadLetterQueue"])
"""

from __future__ import annotations

from typing import Any

API_FUNCTION = "APIHandler"
MIGRATION_FUNCTION = "MigrateSchema"  # functions/schema_migration.py
MIGRATION_RESOURCE = "SchemaMigration"
API_RESOURCE = "RestAPI"
ALARM_TOPIC = "AlarmTopic"
WEB_ACL = "ApiWebAcl"
WEB_ACL_ASSOCIATION = "ApiWebAclAssociation"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"


def alarm_actions() -> list[Any]:
    """Every alarm notifies: the user's topic, or the stack's own (with an optional e-mail)."""
    return [{"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": ALARM_TOPIC}]}]


def _arn(resource_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource_id, "Arn"]}


def _allow(actions: list[str], resources: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _if(condition: str, statement: dict[str, Any]) -> dict[str, Any]:
    return {"Fn::If": [condition, statement, {"Ref": "AWS::NoValue"}]}


MYSQL_SECRET = _if("HasMysqlSecret", _allow(["secretsmanager:GetSecretValue"], {"Ref": "MysqlSecretArn"}))
ADMIN_SECRET = _if("HasAdminKeySecret", _allow(["secretsmanager:GetSecretValue"], {"Ref": "AdminKeySecretArn"}))
# what Lambda needs to attach the function to the VPC (the managed policy would add
# logs:CreateLogGroup on *); AWS documents these actions on "*"
VPC_ACCESS = _if(
    "HasVpc",
    _allow(
        [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        "*",
    ),
)
# the X-Ray daemon's write actions are not resource-scoped on AWS
TRACING = _allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")
API_SENDS = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
DEPTH_READS = ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
WORKER_CONSUMES = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]


def function_statements(fn_id: str, fn: dict[str, Any], queues: dict[str, str], dlqs: list[str]) -> list[Any]:
    """The policy of one function: what its code and its triggers use, nothing else.

    - the API sends to the work queues and reads their depths and the DLQs' (``/statistics``),
      reads the admin key (the only function that checks it) and the MySQL secret;
    - a worker consumes its own queue only (the event source mapping uses the function's
      role) and reads the MySQL secret;
    - a schedule (reconcile) reads the MySQL secret and the work queues' depths.
    """
    logs = _allow(["logs:CreateLogStream", "logs:PutLogEvents"], _arn(log_group_id(fn_id)))
    statements: list[Any] = [logs, TRACING, VPC_ACCESS, MYSQL_SECRET]
    work_queues = sorted(set(queues.values()))
    if fn_id == API_FUNCTION:
        statements.append(_allow(API_SENDS, [_arn(q) for q in work_queues]))
        statements.append(_allow(DEPTH_READS, [_arn(d) for d in dlqs]))
        statements.append(ADMIN_SECRET)
    elif fn_id in queues:
        statements.append(_allow(WORKER_CONSUMES, [_arn(queues[fn_id])]))
    elif _event_types(fn) == {"Schedule"}:
        statements.append(_allow(DEPTH_READS, [_arn(q) for q in work_queues]))
    return statements


def _event_types(fn: dict[str, Any]) -> set[str]:
    return {event.get("Type") for event in fn.get("Properties", {}).get("Events", {}).values()}


def log_group_id(fn_id: str) -> str:
    return f"{fn_id}LogGroup"


def role_id(fn_id: str) -> str:
    return f"{fn_id}Role"


def function_resources(fn_id: str, fn: dict[str, Any], queues: dict[str, str], dlqs: list[str]) -> dict[str, Any]:
    """Role, log group and alarms of one function."""
    name = fn_id
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"{name}Policy",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": function_statements(fn_id, fn, queues, dlqs),
                    },
                }
            ],
        },
    }
    log_group = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{name}"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }
    resources = {role_id(fn_id): role, log_group_id(fn_id): log_group}
    for metric, description in (
        ("Errors", "failed invocations"),
        ("Throttles", "throttled invocations (reserved concurrency or the account limit reached)"),
    ):
        resources[f"{fn_id}{metric}Alarm"] = lambda_alarm(fn_id, metric, f"{name}: {description}.")
    return resources


def lambda_alarm(fn_id: str, metric: str, description: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": fn_id}}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": alarm_actions(),
        },
    }


def api_resources(stage: str) -> dict[str, Any]:
    return {
        "Api5XXAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "The API answers 5XX (503: SQS or Redis down; 500: a bug).",
                "Namespace": "AWS/ApiGateway",
                "MetricName": "5XXError",
                "Dimensions": [
                    {"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}},
                    {"Name": "Stage", "Value": stage},
                ],
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": {"Ref": "Api5XXAlarmThreshold"},
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": alarm_actions(),
            },
        },
        ALARM_TOPIC: {"Type": "AWS::SNS::Topic", "Condition": "NoAlarmTopic", "Properties": {}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "SubscribeAlarmEmail",
            "Properties": {"TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
    }


def _visibility(metric: Any) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def web_acl_resources() -> dict[str, Any]:
    """A REGIONAL web ACL on the API stage (``WafEnabled``), or the user's (``WebAclArn``):
    a flood from one address is refused by WAF before API Gateway, Lambda or Redis pay
    for it, and AWS's common rules drop the usual exploit probes."""
    rules = [
        {
            "Name": "RateLimitPerIp",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {"RateBasedStatement": {"Limit": {"Ref": "WafRateLimitPerIp"}, "AggregateKeyType": "IP"}},
            "VisibilityConfig": _visibility({"Fn::Sub": "${AWS::StackName}-rate-per-ip"}),
        },
        {
            "Name": COMMON_RULE_SET,
            "Priority": 1,
            "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": COMMON_RULE_SET}},
            "VisibilityConfig": _visibility({"Fn::Sub": "${AWS::StackName}-common-rules"}),
        },
    ]
    return {
        WEB_ACL: {
            "Type": "AWS::WAFv2::WebACL",
            "Condition": "CreateWebAcl",
            "Properties": {
                "Name": {"Fn::Sub": "${AWS::StackName}-api"},
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "VisibilityConfig": _visibility({"Fn::Sub": "${AWS::StackName}-api"}),
            },
        },
        WEB_ACL_ASSOCIATION: {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Condition": "AssociateWebAcl",
            "Properties": {
                # RestAPI.Stage: SAM's stage, so the association waits for it
                "ResourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}"
                    "/stages/${RestAPI.Stage}"
                },
                "WebACLArn": {"Fn::If": ["UseWebAclArn", {"Ref": "WebAclArn"}, {"Fn::GetAtt": [WEB_ACL, "Arn"]}]},
            },
        },
    }


def schema_migration(functions: dict[str, Any], sql_digest: str) -> dict[str, Any]:
    """The custom resource that runs ``sql/`` in the VPC; every other function depends on
    it, so CloudFormation migrates before it updates them. ``SqlDigest`` changes with the
    SQL files: an unchanged schema is not migrated again."""
    for fn_id, fn in functions.items():
        if fn_id != MIGRATION_FUNCTION:
            fn["DependsOn"] = sorted({*_as_list(fn.get("DependsOn")), MIGRATION_RESOURCE})
    return {
        MIGRATION_RESOURCE: {
            "Type": "Custom::SchemaMigration",
            "Properties": {"ServiceToken": _arn(MIGRATION_FUNCTION), "SqlDigest": sql_digest},
        }
    }


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def harden(template: dict[str, Any], queues: dict[str, str], dlqs: list[str], sql_digest: str = "") -> dict[str, Any]:
    """``template`` (a packaged sam.json) with the per-function resources; ``queues`` maps
    each worker's logical id to its queue's, ``dlqs`` lists the DLQs' logical ids."""
    resources = template["Resources"]
    functions = {k: v for k, v in resources.items() if v.get("Type") == "AWS::Serverless::Function"}
    for fn_id, fn in functions.items():
        resources.update(function_resources(fn_id, fn, queues, dlqs))
        props = fn["Properties"]
        props["Role"] = _arn(role_id(fn_id))
        props["Tracing"] = "Active"
        props["LoggingConfig"] = {"LogGroup": {"Ref": log_group_id(fn_id)}}
        if fn_id == API_FUNCTION:
            # each API container may hold a MySQL connection: bounded, a flood of reads
            # cannot take the RDS Proxy connections the workers need
            props["ReservedConcurrentExecutions"] = {"Ref": "ApiReservedConcurrency"}
        if "Schedule" in _event_types(fn):
            # a late run is replaced by the next one; async retries would only pile them up
            props["EventInvokeConfig"] = {"MaximumRetryAttempts": 0}
    if MIGRATION_FUNCTION in functions:
        resources.update(schema_migration(functions, sql_digest))
    if "DefaultRole" in resources and not _references(functions, "DefaultRole"):
        del resources["DefaultRole"]
    api = resources.get(API_RESOURCE)
    if api is not None:
        props = api["Properties"]
        # the 5XX alarm's ApiName dimension: the stack's name, whether CloudFormation takes
        # the name from Name or from the definition's title
        props["Name"] = {"Ref": "AWS::StackName"}
        props.get("DefinitionBody", {}).setdefault("info", {})["title"] = {"Ref": "AWS::StackName"}
        props["TracingEnabled"] = True
        props["MethodSettings"] = [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
                "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
                "MetricsEnabled": True,
            }
        ]
        resources.update(api_resources(str(props.get("StageName", "api"))))
        resources.update(web_acl_resources())
    return template


def _references(value: Any, resource_id: str) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") == resource_id or value.get("Fn::GetAtt", [None])[0] == resource_id:
            return True
        return any(_references(v, resource_id) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, resource_id) for v in value)
    return False
