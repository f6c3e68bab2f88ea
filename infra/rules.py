"""The rules a packaged template must pass before it is deployed (``verify_template``).

Each rule is a function ``(template) -> list of problems``; ``problems`` runs them all.
They catch what AWS accepts silently and pays for later: a mapping that deletes a whole
batch on a normal return, pollers that throttle valid payments into the DLQ, logs that
never expire, a role that lets the API consume the work queues, two stacks that share a
queue name.

Example::

    problems(json.loads(Path("build/prod/sam.json").read_text()))   # [] when deployable
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from infra.harden import (
    API_FUNCTION,
    API_RESOURCE,
    COMMON_RULE_SET,
    MIGRATION_FUNCTION,
    MIGRATION_RESOURCE,
    WEB_ACL,
    WEB_ACL_ASSOCIATION,
)
from infra.venvs import LAMBDA_RUNTIME

VISIBILITY_FACTOR = 6  # AWS: queue visibility timeout >= 6x the function timeout
MAX_RECEIVE_COUNT = 5  # receives before SQS moves a message to the DLQ
CHALICE_DEFAULT_TIMEOUT = 60
REPORT_BATCH_ITEM_FAILURES = ["ReportBatchItemFailures"]
DIRECT_PAYMENT_PATH = "/payment/direct"

Template = dict[str, Any]


def _functions(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    for fn_id, fn in template.get("Resources", {}).items():
        if fn.get("Type") == "AWS::Serverless::Function":
            yield fn_id, fn.get("Properties", {})


def _of_type(template: Template, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for rid, resource in template.get("Resources", {}).items():
        if resource.get("Type") == kind:
            yield rid, resource.get("Properties", {})


def _getatt_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def runtime(template: Template) -> list[str]:
    return [
        f"{fn_id}: Runtime {props.get('Runtime')} is not {LAMBDA_RUNTIME}"
        for fn_id, props in _functions(template)
        if props.get("Runtime") != LAMBDA_RUNTIME
    ]


def sqs_mappings(template: Template) -> list[str]:
    """Partial batch responses, a queue of this stack with a DLQ, visibility >= 6x the
    timeout, reserved concurrency, and pollers capped at it."""
    resources = template.get("Resources", {})
    problems: list[str] = []
    mappings = 0
    for fn_id, props in _functions(template):
        for event_id, event in props.get("Events", {}).items():
            if event.get("Type") != "SQS":
                continue
            mappings += 1
            where = f"{fn_id}.Events.{event_id}"
            ev = event.get("Properties", {})
            if ev.get("FunctionResponseTypes") != REPORT_BATCH_ITEM_FAILURES:
                problems.append(f"{where}: FunctionResponseTypes is not [ReportBatchItemFailures]")
            reserved = props.get("ReservedConcurrentExecutions")
            if not reserved:
                problems.append(f"{fn_id}: no ReservedConcurrentExecutions (it could exhaust MySQL connections)")
            maximum = (ev.get("ScalingConfig") or {}).get("MaximumConcurrency")
            if maximum is None:
                problems.append(f"{where}: no ScalingConfig.MaximumConcurrency (pollers would outgrow the function)")
            elif reserved and int(maximum) > int(reserved):
                problems.append(
                    f"{where}: ScalingConfig.MaximumConcurrency {maximum} > ReservedConcurrentExecutions {reserved} "
                    "(throttled batches would send valid messages to the DLQ)"
                )
            queue_ref = ev.get("Queue")
            if not (isinstance(queue_ref, dict) and list(queue_ref) == ["Fn::Sub"]):
                problems.append(f"{where}: Queue must be one Fn::Sub of a queue of this stack, got {queue_ref!r}")
                continue
            queue_id = str(queue_ref["Fn::Sub"]).removeprefix("${").removesuffix(".Arn}")
            queue = resources.get(queue_id, {})
            if queue.get("Type") != "AWS::SQS::Queue":
                problems.append(f"{where}: {queue_ref['Fn::Sub']} is not a queue of this stack")
                continue
            qprops = queue.get("Properties", {})
            redrive = qprops.get("RedrivePolicy", {})
            dlq_id = _getatt_id(redrive.get("deadLetterTargetArn"))
            if resources.get(dlq_id, {}).get("Type") != "AWS::SQS::Queue":
                problems.append(f"{queue_id}: no DLQ of this stack in its RedrivePolicy")
            if int(redrive.get("maxReceiveCount", 0)) < MAX_RECEIVE_COUNT:
                problems.append(f"{queue_id}: maxReceiveCount < {MAX_RECEIVE_COUNT}")
            timeout = int(props.get("Timeout", CHALICE_DEFAULT_TIMEOUT))
            if int(qprops.get("VisibilityTimeout", 30)) < VISIBILITY_FACTOR * timeout:
                problems.append(f"{queue_id}: VisibilityTimeout < {VISIBILITY_FACTOR} x {fn_id} Timeout ({timeout}s)")
    if mappings == 0:
        problems.append("no SQS event source mapping in the template")
    return problems


def _bound(template: Template, value: Any) -> int | None:
    """A concurrency as deployed with the defaults: a number, or a Ref to a Number
    parameter whose Default and MinValue are at least 1 (None when unbounded)."""
    if isinstance(value, dict) and "Ref" in value:
        parameter = template.get("Parameters", {}).get(value["Ref"], {})
        if parameter.get("Type") != "Number" or int(parameter.get("MinValue", 0)) < 1:
            return None
        value = parameter.get("Default")
    try:
        return int(value) if int(value) >= 1 else None
    except (TypeError, ValueError):
        return None


def concurrency_bounds(template: Template) -> list[str]:
    """Every function has a reserved concurrency: each container may hold a MySQL connection,
    so an unbounded one (a flood of GETs on the API) could take the RDS Proxy's connections."""
    return [
        f"{fn_id}: no ReservedConcurrentExecutions of at least 1 (unbounded, it could take every MySQL connection)"
        for fn_id, props in _functions(template)
        if _bound(template, props.get("ReservedConcurrentExecutions")) is None
    ]


def web_acl(template: Template) -> list[str]:
    """The API stage is behind a WAFv2 web ACL: the stack's (a per-IP rate-based rule and
    AWS's common rules) or one given by ARN."""
    resources = template.get("Resources", {})
    if API_RESOURCE not in resources:
        return []
    association = resources.get(WEB_ACL_ASSOCIATION, {})
    props = association.get("Properties", {})
    if association.get("Type") != "AWS::WAFv2::WebACLAssociation" or API_RESOURCE not in str(props.get("ResourceArn")):
        return [f"no {WEB_ACL_ASSOCIATION} of {API_RESOURCE}'s stage (AWS::WAFv2::WebACLAssociation)"]
    if WEB_ACL not in str(props.get("WebACLArn")) or "WebAclArn" not in str(props.get("WebACLArn")):
        return [f"{WEB_ACL_ASSOCIATION}: WebACLArn is neither {WEB_ACL} nor the WebAclArn parameter"]
    acl = resources.get(WEB_ACL, {})
    acl_props = acl.get("Properties", {})
    problems = []
    if acl.get("Type") != "AWS::WAFv2::WebACL" or acl_props.get("Scope") != "REGIONAL":
        problems.append(f"{WEB_ACL}: not a REGIONAL AWS::WAFv2::WebACL")
    statements = [rule.get("Statement", {}) for rule in acl_props.get("Rules", [])]
    if not any(s.get("RateBasedStatement", {}).get("AggregateKeyType") == "IP" for s in statements):
        problems.append(f"{WEB_ACL}: no rate-based rule per client IP")
    if not any(s.get("ManagedRuleGroupStatement", {}).get("Name") == COMMON_RULE_SET for s in statements):
        problems.append(f"{WEB_ACL}: no {COMMON_RULE_SET} managed rule group")
    return problems


def alarm_metrics(template: Template) -> dict[tuple[str, str], str]:
    """(namespace/metric, dimension target) -> alarm id."""
    result = {}
    for alarm_id, props in _of_type(template, "AWS::CloudWatch::Alarm"):
        for dim in props.get("Dimensions", []):
            value = dim.get("Value")
            target = value.get("Ref") if isinstance(value, dict) else value
            result[(f"{props.get('Namespace')}/{props.get('MetricName')}", str(target))] = alarm_id
    return result


def observability(template: Template) -> list[str]:
    """Per function: active tracing, a log group of the stack with retention, Errors and
    Throttles alarms; an API 5XX alarm; every alarm notifies someone."""
    resources = template.get("Resources", {})
    alarms = alarm_metrics(template)
    problems: list[str] = []
    for fn_id, props in _functions(template):
        if props.get("Tracing") != "Active":
            problems.append(f"{fn_id}: Tracing is not Active")
        group = ((props.get("LoggingConfig") or {}).get("LogGroup") or {}).get("Ref")
        group_props = resources.get(group, {})
        if group_props.get("Type") != "AWS::Logs::LogGroup":
            problems.append(f"{fn_id}: no LoggingConfig.LogGroup of this stack (its logs would never expire)")
        elif not group_props.get("Properties", {}).get("RetentionInDays"):
            problems.append(f"{group}: no RetentionInDays")
        for metric in ("Errors", "Throttles"):
            if ("AWS/Lambda/" + metric, fn_id) not in alarms:
                problems.append(f"{fn_id}: no {metric} alarm")
    if API_RESOURCE in resources and not any(k[0] == "AWS/ApiGateway/5XXError" for k in alarms):
        problems.append("no API 5XXError alarm")
    for alarm_id, props in _of_type(template, "AWS::CloudWatch::Alarm"):
        actions = props.get("AlarmActions")
        if not actions or "AWS::NoValue" in str(actions):
            problems.append(f"{alarm_id}: no AlarmActions (an alarm nobody hears)")
    return problems


def api_throttling(template: Template) -> list[str]:
    """The stage throttles before Lambda is called (a refused request costs nothing)."""
    api = template.get("Resources", {}).get(API_RESOURCE)
    if api is None:
        return []
    settings = api.get("Properties", {}).get("MethodSettings") or []
    if not any("ThrottlingRateLimit" in s and "ThrottlingBurstLimit" in s for s in settings):
        return [f"{API_RESOURCE}: no stage throttling (MethodSettings ThrottlingRateLimit/ThrottlingBurstLimit)"]
    return []


def schedules(template: Template) -> list[str]:
    """A scheduled function is never retried asynchronously: stale runs would queue up."""
    problems = []
    for fn_id, props in _functions(template):
        if any(e.get("Type") == "Schedule" for e in props.get("Events", {}).values()):
            retries = (props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts")
            if retries != 0:
                problems.append(f"{fn_id}: scheduled, but EventInvokeConfig.MaximumRetryAttempts is not 0")
    return problems


NAME_PROPERTY = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SNS::Topic": "TopicName",
}


def stack_scoped_names(template: Template) -> list[str]:
    """Physical names carry the stack name, so two stacks in one account never collide."""
    problems = []
    for rid, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        key = NAME_PROPERTY.get(resource.get("Type", ""))
        if key and key in props and "${AWS::StackName}" not in str(props[key]):
            problems.append(f"{rid}: {key} {props[key]!r} is not scoped to the stack (${{AWS::StackName}})")
    return problems


def _statements(policy_holder: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in policy_holder.get("Policies", []):
        for statement in policy.get("PolicyDocument", {}).get("Statement", []):
            if isinstance(statement, dict) and "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            if isinstance(statement, dict) and "Action" in statement:
                yield statement


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement.get("Resource")
    return resource if isinstance(resource, list) else [resource]


def iam(template: Template) -> list[str]:
    """One role per function; no log-group creation; the API only sends to the work queues,
    a worker only consumes its own queue, and only the API reads the admin key."""
    resources = template.get("Resources", {})
    problems: list[str] = []
    role_users: dict[str, list[str]] = {}
    for fn_id, props in _functions(template):
        role_users.setdefault(str(_getatt_id(props.get("Role"))), []).append(fn_id)
    for role, users in role_users.items():
        if len(users) > 1:
            problems.append(f"{role}: one role shared by {', '.join(sorted(users))} (one role per function)")
    for rid, props in _of_type(template, "AWS::IAM::Role"):
        for statement in _statements(props):
            actions = _actions(statement)
            if any(a in ("logs:CreateLogGroup", "logs:*", "*") for a in actions):
                problems.append(f"{rid}: may {actions} (the stack creates the log groups)")
            if any(a.startswith(("sqs:", "secretsmanager:")) for a in actions) and "*" in _resources(statement):
                problems.append(f"{rid}: {actions} on *")
    for fn_id, props in _functions(template):
        own_role = _getatt_id(props.get("Role"))
        if own_role not in resources:
            problems.append(f"{fn_id}: its Role is not a role of this stack")
            continue
        statements = list(_statements(resources[own_role].get("Properties", {})))
        sqs = [(a, r) for s in statements for a in _actions(s) if a.startswith("sqs:") for r in _resources(s)]
        reads_admin = any("AdminKeySecretArn" in str(s.get("Resource")) for s in statements)
        if reads_admin and fn_id != API_FUNCTION:
            problems.append(f"{fn_id}: may read the admin key secret (only the API checks it)")
        if fn_id == API_FUNCTION:
            consuming = sorted({a for a, _ in sqs if a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:*")})
            if consuming:
                problems.append(f"{fn_id}: may {consuming} (the API only sends)")
            continue
        own = {
            str(e.get("Properties", {}).get("Queue", {}).get("Fn::Sub", "")).removeprefix("${").removesuffix(".Arn}")
            for e in props.get("Events", {}).values()
            if e.get("Type") == "SQS"
        }
        if any(a in ("sqs:SendMessage", "sqs:*") for a, _ in sqs):
            problems.append(f"{fn_id}: may sqs:SendMessage (only the API sends)")
        for action, resource in sqs:
            if action in ("sqs:ReceiveMessage", "sqs:DeleteMessage") and _getatt_id(resource) not in own:
                problems.append(f"{fn_id}: may {action} on {resource} (not its own queue)")
    return problems


def direct_payment_route(template: Template, enabled: bool = False) -> list[str]:
    """``POST /payment/direct`` (MySQL inside the request) exists only where it is enabled."""
    api = template.get("Resources", {}).get(API_RESOURCE, {})
    paths = api.get("Properties", {}).get("DefinitionBody", {}).get("paths", {})
    if DIRECT_PAYMENT_PATH in paths and not enabled:
        return [f"{API_RESOURCE}: {DIRECT_PAYMENT_PATH} is routed but not enabled (PAYMENT_DIRECT_ENABLED)"]
    return []


def schema_first(template: Template) -> list[str]:
    """The schema is migrated (in the VPC) before any other function is created or updated."""
    resources = template.get("Resources", {})
    migration = resources.get(MIGRATION_RESOURCE, {})
    if migration.get("Type") != "Custom::SchemaMigration":
        return [f"no {MIGRATION_RESOURCE} custom resource: new code could run on an old schema"]
    if _getatt_id(migration.get("Properties", {}).get("ServiceToken")) != MIGRATION_FUNCTION:
        return [f"{MIGRATION_RESOURCE}: ServiceToken is not {MIGRATION_FUNCTION}"]
    problems = []
    for fn_id, _ in _functions(template):
        depends = resources[fn_id].get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        if fn_id != MIGRATION_FUNCTION and MIGRATION_RESOURCE not in depends:
            problems.append(f"{fn_id}: does not depend on {MIGRATION_RESOURCE} (could go live before the schema)")
    return problems


RULES: tuple[Callable[[Template], list[str]], ...] = (
    runtime,
    sqs_mappings,
    observability,
    api_throttling,
    concurrency_bounds,
    web_acl,
    schedules,
    stack_scoped_names,
    iam,
    schema_first,
)


def problems(template: Template, direct_payments: bool = False) -> list[str]:
    found = [problem for rule in RULES for problem in rule(template)]
    return found + direct_payment_route(template, direct_payments)
