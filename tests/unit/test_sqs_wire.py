"""WireSqsClient makes botocore's requests, and reads answers and errors as botocore does.

Both clients talk to one recording HTTP server on 127.0.0.1, which answers what each test
scripts; every request is compared with botocore's own (target, body, signed headers, the
signature recomputed by botocore's SigV4 signer), as are parsed results, errors and retries.
"""

from __future__ import annotations

import datetime
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.auth
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from functions.adapters.sqs import sqs_client
from functions.adapters.sqs_wire import SigV4Signer, WireSqsClient

Scripted = tuple[int, dict[str, str], bytes]


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.script: list[Scripted] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SQS

    def do_POST(self) -> None:
        server: Recorder = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        status, headers, payload = server.script.pop(0) if server.script else (200, {}, b"{}")
        self.send_response(status)
        for name, value in {"Content-Type": "application/x-amz-json-1.0", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    yield recorder
    recorder.shutdown()
    recorder.server_close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore sleeps between attempts (up to seconds when throttled); the counts are what we compare
    monkeypatch.setattr("botocore.retries.standard.RetryPolicy.compute_retry_delay", lambda self, context: 0)


def clients(url: str) -> tuple[Any, WireSqsClient]:
    return sqs_client(url, "us-east-1"), WireSqsClient(sqs_client(url, "us-east-1"), sleep=lambda _: None)


QUEUE = "http://127.0.0.1:1/000000000000/q"
CALLS: list[tuple[str, dict[str, Any]]] = [
    (
        "send_message_batch",
        {
            "QueueUrl": QUEUE,
            "Entries": [
                {"Id": "0", "MessageBody": '{"amount":"12.50"}', "MessageAttributes": {}},
                {
                    "Id": "1",
                    "MessageBody": "h\u00e9llo \u20ac",
                    "MessageAttributes": {
                        "k": {"DataType": "String", "StringValue": "v"},
                        "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
                    },
                },
            ],
        },
    ),
    ("send_message", {"QueueUrl": QUEUE, "MessageBody": "one", "MessageAttributes": {}}),
    (
        "receive_message",
        {
            "QueueUrl": QUEUE,
            "MaxNumberOfMessages": 10,
            "WaitTimeSeconds": 0,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        },
    ),
    ("delete_message_batch", {"QueueUrl": QUEUE, "Entries": [{"Id": "0", "ReceiptHandle": "rh-0"}]}),
    ("get_queue_url", {"QueueName": "q"}),
    ("get_queue_attributes", {"QueueUrl": QUEUE, "AttributeNames": ["ApproximateNumberOfMessages"]}),
]


def signed_names(request: dict[str, Any]) -> str:
    return str(request["headers"]["Authorization"]).split("SignedHeaders=")[1].split(",")[0]


def botocore_signature(request: dict[str, Any], url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """What botocore's SigV4 signer puts in Authorization for this exact request and date."""
    stamp = datetime.datetime.strptime(request["headers"]["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stamp)
    names = signed_names(request).split(";")
    headers = {k: v for k, v in request["headers"].items() if k.lower() in names and k.lower() != "host"}
    aws = AWSRequest(method="POST", url=url + request["path"], data=request["body"], headers=headers)
    botocore.auth.SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(aws)
    return str(aws.headers["Authorization"])


@pytest.mark.parametrize(("method", "params"), CALLS, ids=[name for name, _ in CALLS])
def test_requests_are_botocore_s(
    server: Recorder, method: str, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    boto, wire = clients(server.url)
    getattr(boto, method)(**params)
    getattr(wire, method)(**params)
    theirs, ours = server.requests
    assert ours["path"] == theirs["path"]
    assert json.loads(ours["body"]) == json.loads(theirs["body"]), "same JSON document"
    for header in ("X-Amz-Target", "Content-Type", "x-amzn-query-mode"):
        assert ours["headers"][header] == theirs["headers"][header]
    assert signed_names(ours) == signed_names(theirs)
    assert ours["headers"]["Authorization"] == botocore_signature(ours, server.url, monkeypatch)


@pytest.mark.parametrize("token", [None, "session-token"])
def test_signer_agrees_with_botocore(token: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q"}'
    ours = {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"}
    SigV4Signer("eu-west-1").sign("sqs.eu-west-1.amazonaws.com", "/", ours, body, credentials, "20261201T101500Z")
    stamp = datetime.datetime(2026, 12, 1, 10, 15, 0)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stamp)
    theirs = AWSRequest(
        method="POST",
        url="https://sqs.eu-west-1.amazonaws.com/",
        data=body,
        headers={"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"},
    )
    botocore.auth.SigV4Auth(credentials, "sqs", "eu-west-1").add_auth(theirs)
    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours.get("X-Amz-Security-Token") == theirs.headers.get("X-Amz-Security-Token")


def test_results_are_parsed_as_botocore_does(server: Recorder) -> None:
    received = {
        "Messages": [
            {
                "MessageId": "m-1",
                "ReceiptHandle": "rh-1",
                "MD5OfBody": "x",
                "Body": '{"amount":"1.00"}',
                "Attributes": {"ApproximateReceiveCount": "1"},
                "MessageAttributes": {
                    "k": {"DataType": "String", "StringValue": "v"},
                    "b": {"DataType": "Binary", "BinaryValue": "AP8="},
                },
            }
        ]
    }
    answer: Scripted = (200, {"x-amzn-RequestId": "req-1"}, json.dumps(received).encode())
    server.script = [answer, answer]
    boto, wire = clients(server.url)
    theirs = boto.receive_message(QueueUrl=QUEUE, MessageAttributeNames=["All"])
    ours = wire.receive_message(QueueUrl=QUEUE, MessageAttributeNames=["All"])
    assert ours["Messages"] == theirs["Messages"]
    assert ours["Messages"][0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\xff"
    for key in ("RequestId", "HTTPStatusCode", "RetryAttempts"):
        assert ours["ResponseMetadata"][key] == theirs["ResponseMetadata"][key]


ERRORS: list[Scripted] = [
    (
        400,
        {"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
        b'{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "no such queue"}',
    ),
    (400, {}, b'{"__type": "InvalidParameterValue", "message": "bad"}'),
    (403, {}, b'{"__type": "InvalidClientTokenId", "Message": "who are you"}'),
    (404, {}, b"not json at all"),
]


@pytest.mark.parametrize("answer", ERRORS, ids=["query-compatible", "plain", "Message", "not-json"])
def test_errors_are_botocore_s(server: Recorder, answer: Scripted) -> None:
    boto, wire = clients(server.url)
    server.script = [answer]
    with pytest.raises(botocore.exceptions.ClientError) as theirs:
        boto.send_message(QueueUrl=QUEUE, MessageBody="x")
    server.script = [answer]
    with pytest.raises(botocore.exceptions.ClientError) as ours:
        wire.send_message(QueueUrl=QUEUE, MessageBody="x")
    assert type(ours.value).__name__ == type(theirs.value).__name__, "the same modeled exception class"
    assert ours.value.response["Error"] == theirs.value.response["Error"]
    assert str(ours.value) == str(theirs.value)


RETRIES: dict[str, list[Scripted]] = {
    "5xx then ok": [(500, {}, b'{"__type": "InternalError"}'), (503, {}, b"")],
    "throttled then ok": [(400, {}, b'{"__type": "RequestThrottled", "message": "slow down"}')],
    "429 then ok": [(429, {}, b"")],
    "always 5xx": [(502, {}, b"")] * 5,
    "not retried": [(400, {}, b'{"__type": "InvalidParameterValue"}')] * 3,
}


@pytest.mark.parametrize("script", list(RETRIES.values()), ids=list(RETRIES))
def test_retries_are_botocore_s(server: Recorder, script: list[Scripted]) -> None:
    outcomes = []
    for client in clients(server.url):
        server.requests.clear()
        server.script = list(script)
        try:
            client.send_message(QueueUrl=QUEUE, MessageBody="x")
            outcome: str = "ok"
        except botocore.exceptions.ClientError as exc:
            outcome = exc.response["Error"]["Code"]
        outcomes.append((outcome, len(server.requests)))
    theirs, ours = outcomes
    assert ours == theirs, "same result after the same number of attempts"


def test_connection_errors_are_botocore_s(server: Recorder) -> None:
    url = server.url
    server.shutdown()
    server.server_close()  # nothing listens there any more
    boto, wire = clients(url)
    with pytest.raises(botocore.exceptions.BotoCoreError) as theirs:
        boto.send_message(QueueUrl=QUEUE, MessageBody="x")
    with pytest.raises(botocore.exceptions.BotoCoreError) as ours:
        wire.send_message(QueueUrl=QUEUE, MessageBody="x")
    assert type(ours.value) is type(theirs.value)


def test_a_connection_the_server_closed_is_not_reused(server: Recorder) -> None:
    _, wire = clients(server.url)
    wire.send_message(QueueUrl=QUEUE, MessageBody="x")
    [conn] = wire._pool._idle
    assert conn.sock is not None
    conn.sock.shutdown(0)  # as if the server had closed it while idle  # type: ignore[arg-type]
    server.script = [(200, {}, b'{"MessageId": "m-2"}')]
    assert wire.send_message(QueueUrl=QUEUE, MessageBody="y")["MessageId"] == "m-2"
    assert wire.send_message(QueueUrl=QUEUE, MessageBody="z")["ResponseMetadata"]["RetryAttempts"] == 0


def test_other_calls_go_through_boto3(server: Recorder) -> None:
    server.script = [(200, {}, b'{"QueueUrl": "http://127.0.0.1:1/000000000000/new"}')]
    _, wire = clients(server.url)
    assert wire.create_queue(QueueName="new")["QueueUrl"].endswith("/new")
    assert server.requests[0]["headers"]["User-Agent"].startswith("Boto3/")


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("https://sqs.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"),
        ("https://sqs.eu-west-1.amazonaws.com:443", "sqs.eu-west-1.amazonaws.com"),
        ("http://127.0.0.1:4566", "127.0.0.1:4566"),
    ],
)
def test_the_signed_host_is_the_one_sent(endpoint: str, host: str) -> None:
    wire = WireSqsClient(sqs_client(endpoint, "eu-west-1"))
    assert wire._host == host
    assert "SignedHeaders=content-type;host;" in wire._headers("SendMessage", b"{}")["Authorization"]


class RawServer:
    """Answers each request with the next raw bytes of ``answers`` (written in small pieces);
    after each answer closes the connection if ``close`` is set."""

    def __init__(self, answers: list[bytes], close: bool = False) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.answers, self.close = iter(answers), close
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            with conn:
                while self._answer(conn) and not self.close:
                    pass

    def _answer(self, conn: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            if not (data := conn.recv(65536)):
                return False
            request += data
        answer = next(self.answers, b"")
        for start in range(0, len(answer), 7):  # framing must not rely on one recv per answer
            conn.sendall(answer[start : start + 7])
        return True


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'6\r\n{"Mess\r\nf;ext=1\r\nageId": "m-ch"}\r\n0\r\nX-Trailer: 1\r\n\r\n',
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nConnection: close\r\n\r\n"
        b'{"MessageId": "m-ch"}',
    ],
    ids=["chunked", "until-close"],
)
def test_answers_framed_by_chunks_or_by_the_end_of_the_connection_are_read_whole(answer: bytes) -> None:
    chunked = b"chunked" in answer
    server = RawServer([answer] * 2, close=not chunked)
    _, wire = clients(server.url)
    for _ in range(2):  # a chunked answer read to its very end leaves the connection fit for the next
        assert wire.send_message(QueueUrl=QUEUE, MessageBody="x")["MessageId"] == "m-ch"
        assert len(wire._pool._idle) == chunked, "kept while open; a connection the server closes is not"


@pytest.mark.parametrize(
    "answer", [b"SSH-2.0-OpenSSH\r\n\r\n", b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"MessageId"']
)
def test_an_answer_that_is_not_http_or_ends_early_is_a_closed_connection(answer: bytes) -> None:
    server = RawServer([answer] * 3, close=True)
    _, wire = clients(server.url)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        wire.send_message(QueueUrl=QUEUE, MessageBody="x")
    assert wire._pool._idle == []
