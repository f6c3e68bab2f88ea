"""The schema migration as a CloudFormation custom resource of the AWS stack.

It runs inside the VPC (where the RDS Proxy is) when the stack is created or its ``sql/``
changed, before CloudFormation updates the other functions (they depend on it): new code
never runs on an old schema, and nobody needs a path from their machine into the VPC.
A failure is reported to CloudFormation, which rolls the deployment back.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from chalice import Blueprint

from functions.adapters.schema import apply_schema
from functions.bootstrap import mysql_target
from functions.config import get_settings
from functions.observability import logger

bp = Blueprint(__name__)


@bp.lambda_function(name="migrate_schema")
def migrate_schema(event: dict[str, Any], context: Any) -> dict[str, Any]:
    status, reason, data = "SUCCESS", "", {}
    if event.get("RequestType", "Create") in ("Create", "Update"):
        try:
            applied = apply_schema(mysql_target(get_settings()))
            data = {"Applied": ",".join(applied) or "none"}
            logger.info("schema migrated", extra={"applied": applied})
        except Exception as exc:  # any failure must reach CloudFormation, or it waits an hour
            status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:1000]
            logger.exception("schema migration failed")
    reply = {"Status": status, "Reason": reason, "Data": data}
    if "ResponseURL" in event:
        respond(event, getattr(context, "log_stream_name", "schema-migration"), reply)
    return reply


def respond(event: dict[str, Any], physical_id: str, reply: dict[str, Any]) -> None:
    """PUT the result to the pre-signed URL CloudFormation waits on."""
    body = {
        **reply,
        "PhysicalResourceId": event.get("PhysicalResourceId", physical_id),
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=data, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(data))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
