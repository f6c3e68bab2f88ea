"""The embedded emulator's ASGI app: MiniStack, with its SQS JSON calls answered straight away.

MiniStack routes every request through one front door for its ~40 services: service detection,
tenant and IAM hooks, CloudTrail, CORS headers. For an SQS call in the JSON protocol (``POST /``
with ``X-Amz-Target: AmazonSQS.<Action>``, what boto3 and Surge's wire client send) the answer
comes from MiniStack's own SQS module either way; going to it directly costs the emulator a sixth
to a third less CPU per message (docs/benchmarks.md). Everything else (other services, the Query
protocol, ``/_ministack/*``, lifespan: state saved and loaded, ``AUTH=true``) goes through
MiniStack's app unchanged.

This module runs inside the emulator's own virtualenv (``uvicorn functions.runtime.ministack_sqs:app``):
it imports MiniStack and the standard library only. Another MiniStack version (another
``MINISTACK_BIN``) is served by its own app alone.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from importlib.metadata import version
from typing import Any

from ministack import app as _ministack

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ministack_app: Callable[[Scope, Receive, Send], Awaitable[None]] = _ministack.app
log = logging.getLogger("surge.ministack_sqs")

# the MiniStack whose internals this front was written against (requirements-emulator.txt pins it);
# any other version is served by its own app alone
WRITTEN_FOR = "1.5.33"

try:
    if version("ministack") != WRITTEN_FOR:
        raise ImportError(f"MiniStack {version('ministack')}, not {WRITTEN_FOR}")
    from ministack.core.responses import (
        fix_error_content_type,
        fix_success_content_type,
        set_request_account_id,
        set_request_region,
    )
    from ministack.core.router import extract_access_key_id, extract_region
    from ministack.services import sqs

    _reset_lock: Callable[[], Any] = _ministack._get_reset_lock
    _sqs_handler: Callable[..., Awaitable[tuple[int, dict[str, str], bytes | str]]] | None = (
        None if _ministack.AUTH else sqs.handle_request  # AUTH=true: MiniStack's app checks every signature
    )
except (ImportError, AttributeError) as exc:
    log.warning("SQS calls go through MiniStack's own app: %s", exc)
    _sqs_handler = None

_SQS_TARGET = b"amazonsqs."


def is_sqs_json_call(scope: Scope) -> bool:
    """``POST /`` with an ``AmazonSQS.*`` target, no query string and an uncompressed body."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/" or scope.get("query_string"):
        return False
    sqs_target = False
    for name, value in scope["headers"]:
        name = name.lower()
        if name == b"x-amz-target":
            sqs_target = value.lower().startswith(_SQS_TARGET)
        elif name == b"content-encoding":
            return False  # a compressed body: MiniStack's app inflates it
    return sqs_target


async def _body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if _sqs_handler is None or not is_sqs_json_call(scope):
        await ministack_app(scope, receive, send)
        return
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    body = await _body(receive)
    if body is None:
        return
    async with _reset_lock():  # as MiniStack's app: no answer from a half-reset state
        pass
    request_id = str(uuid.uuid4())
    set_request_account_id(extract_access_key_id(headers, {}))
    set_request_region(extract_region(headers, {}))
    try:
        status, out, payload = await _sqs_handler("POST", "/", headers, body, {})
    except Exception as exc:  # as MiniStack's app answers a service that raised
        log.exception("Error handling sqs request: %s", exc)
        status, out = 500, {"Content-Type": "application/json"}
        payload = json.dumps({"__type": "InternalError", "message": str(exc)}).encode()
    fix_error_content_type("sqs", status, out)
    fix_success_content_type("sqs", status, out)
    data = payload if isinstance(payload, bytes) else payload.encode()
    response_headers = [(name.encode("latin-1"), str(value).encode("latin-1")) for name, value in out.items()]
    response_headers += [
        (b"content-length", str(len(data)).encode()),
        (b"x-amzn-requestid", request_id.encode()),
        (b"x-amz-request-id", request_id.encode()),
        (b"x-amz-id-2", base64.b64encode(os.urandom(48))),
        (b"date", formatdate(usegmt=True).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})
