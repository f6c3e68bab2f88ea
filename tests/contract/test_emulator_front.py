"""The embedded emulator's front: SQS JSON calls answered by MiniStack's SQS module directly,
everything else by MiniStack's own app.

MiniStack's app adds CORS headers to every service answer; the front does not: that header
tells which of the two answered. What the answers say is checked by the contract tests, which
run on both (``embedded`` and ``ministack-own-app``).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from functions.runtime.emulator import MINISTACK_BIN, REPO, free_port, start_ministack, stop_process
from tests.conftest import RUN_ID

JSON = "application/x-amz-json-1.0"
SIGNED = "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    port = free_port()
    process = start_ministack(port, REPO / "var" / "log" / f"ministack-front-{RUN_ID}.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, timeout=10)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers={"Authorization": SIGNED, **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def json_call(url: str, action: str, payload: dict[str, object], **headers: str) -> tuple[int, dict[str, str], bytes]:
    return post(
        url,
        json.dumps(payload).encode(),
        {"X-Amz-Target": f"AmazonSQS.{action}", "Content-Type": JSON, **headers},
    )


def answered_by_ministacks_app(headers: dict[str, str]) -> bool:
    return "access-control-allow-origin" in headers


def test_an_sqs_json_call_is_answered_without_ministacks_router(emulator: str) -> None:
    name = f"surge-front-{RUN_ID}"
    status, headers, body = json_call(emulator, "CreateQueue", {"QueueName": name})
    assert status == 200, body
    queue_url = json.loads(body)["QueueUrl"]
    status, headers, body = json_call(emulator, "SendMessage", {"QueueUrl": queue_url, "MessageBody": "hello"})

    assert status == 200 and "MessageId" in json.loads(body)
    assert headers["content-type"] == JSON
    assert headers["x-amzn-requestid"] and headers["date"]
    assert not answered_by_ministacks_app(headers)


def test_an_sqs_error_keeps_its_codes_for_the_sdks(emulator: str) -> None:
    missing = f"{emulator}/000000000000/surge-front-missing-{RUN_ID}"
    status, headers, body = json_call(emulator, "SendMessage", {"QueueUrl": missing, "MessageBody": "x"})

    assert status == 400 and not answered_by_ministacks_app(headers)
    assert json.loads(body)["__type"].endswith("QueueDoesNotExist")
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"


# what only MiniStack's own app answers: path suffix, body, headers
ELSEWHERE = {
    "query protocol": ("", b"Action=ListQueues", {"Content-Type": "application/x-www-form-urlencoded"}),
    "compressed body": (
        "",
        gzip.compress(b"{}"),
        {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Encoding": "gzip", "Content-Type": JSON},
    ),
    "query string": ("/?Action=ListQueues", b"{}", {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": JSON}),
    "another service": ("", b"{}", {"X-Amz-Target": "AmazonSNS.ListTopics", "Content-Type": JSON}),
}


def test_with_direct_sqs_off_every_call_goes_through_ministacks_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINISTACK_SQS_DIRECT", "0")
    port = free_port()
    process = start_ministack(port, REPO / "var" / "log" / f"ministack-own-app-{RUN_ID}.log")
    try:
        status, headers, body = json_call(f"http://127.0.0.1:{port}", "ListQueues", {})
    finally:
        stop_process(process, timeout=10)
    assert status == 200, body
    assert answered_by_ministacks_app(headers)


@pytest.mark.parametrize("case", ELSEWHERE)
def test_anything_else_goes_through_ministacks_own_app(emulator: str, case: str) -> None:
    suffix, body, headers = ELSEWHERE[case]
    status, answer_headers, answer = post(emulator + suffix, body, headers)

    assert status < 500, answer
    assert answered_by_ministacks_app(answer_headers), f"{case}: answered by the front"


# imports the front in the emulator's virtualenv and says whether it answers SQS calls itself
DIRECT = """
import importlib.metadata, os, sys
real = importlib.metadata.version
importlib.metadata.version = lambda name: os.environ.get("FAKE_VERSION") or real(name)
sys.path.insert(0, os.environ["REPO"])
from functions.runtime import ministack_sqs
print(ministack_sqs._sqs_handler is not None)
"""


@pytest.mark.parametrize(
    ("environment", "direct"),
    [({}, "True"), ({"FAKE_VERSION": "9.9.9"}, "False"), ({"AUTH": "true"}, "False")],
    ids=["the pinned version", "another version", "AUTH=true"],
)
def test_only_the_pinned_ministack_without_auth_is_answered_directly(environment: dict[str, str], direct: str) -> None:
    python = MINISTACK_BIN.with_name("python")
    env = {k: v for k, v in os.environ.items() if k != "AUTH"} | {"REPO": str(REPO), **environment}
    printed = subprocess.run([python, "-c", DIRECT], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert printed.stdout.strip().splitlines()[-1] == direct
