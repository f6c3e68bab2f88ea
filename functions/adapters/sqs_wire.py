"""A lean SQS client for the hot path: the SQS JSON protocol over pooled keep-alive connections.

boto3 spends ~0.9-1 ms of CPU per call whatever its size (request building, event
hooks, validation, parsing); a payment costs three calls (send, receive, delete). This
client makes the same HTTP requests as botocore's SQS client (AWS JSON 1.0,
``X-Amz-Target: AmazonSQS.<Operation>``, SigV4 signed), raises the same exceptions
(``ClientError`` and its modeled subclasses, botocore's connection errors) and retries
like botocore's ``standard`` mode. tests/unit/test_sqs_wire.py checks its requests,
errors and retries against botocore's, against one recording HTTP server.

The transport is a pool of keep-alive HTTP/1.1 connections of its own (``_Connection``):
urllib3 2 writes the headers and the body of a request in two ``send`` calls and parses
more (twice the CPU per call), and ``http.client`` parses every answer's headers with the
``email`` package (``python -m loadtest.sqs_client_cpu`` measures each).

It implements the calls of the hot path; every other method (``create_queue``,
``purge_queue``…) is served by the boto3 client it wraps, so it can stand in for one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import select
import socket
import ssl
import threading
import time
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
from botocore.httpsession import get_cert_path
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

_RETRY_STATUS = frozenset((500, 502, 503, 504, 429))
# botocore's own lists, so both clients retry the same errors
_TRANSIENT_CODES = frozenset(TransientRetryableChecker._TRANSIENT_ERROR_CODES)
_THROTTLING_CODES = frozenset(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)
_MAX_BACKOFF = 20.0


class SigV4Signer:
    """AWS Signature Version 4 for one service and region; the signing key is derived
    once per day and secret, not on every request as botocore does.

    >>> from botocore.credentials import Credentials
    >>> headers = {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"}
    >>> SigV4Signer("eu-west-1").sign(
    ...     "sqs.eu-west-1.amazonaws.com", "/", headers, b"{}", Credentials("AKID", "secret"), "20261201T101500Z"
    ... )
    >>> credential, signed, signature = headers["Authorization"].split(", ")
    >>> credential
    'AWS4-HMAC-SHA256 Credential=AKID/20261201/eu-west-1/sqs/aws4_request'
    >>> signed
    'SignedHeaders=content-type;host;x-amz-date;x-amz-target'
    """

    def __init__(self, region: str, service: str = "sqs"):
        self.region = region
        self.service = service
        self._key: tuple[str, str, bytes] = ("", "", b"")

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached_secret, cached_day, key = self._key
        if cached_secret == secret and cached_day == day:
            return key
        key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
        for part in (self.region, self.service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = (secret, day, key)
        return key

    def sign(self, host: str, path: str, headers: dict[str, str], body: bytes, credentials: Any, amz_date: str) -> None:
        """Add ``X-Amz-Date``, the session token if any, and ``Authorization`` to ``headers``.

        Every header in ``headers`` is signed (plus ``host``): pass only the ones to sign."""
        headers["X-Amz-Date"] = amz_date
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        signed = sorted([("host", host)] + [(k.lower(), " ".join(v.split())) for k, v in headers.items()])
        names = ";".join(name for name, _ in signed)
        canonical = "\n".join(
            (
                "POST",
                path or "/",
                "",
                "".join(f"{name}:{value}\n" for name, value in signed),
                names,
                hashlib.sha256(body).hexdigest(),
            )
        )
        day = amz_date[:8]
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(credentials.secret_key, day), to_sign.encode(), hashlib.sha256)
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature.hexdigest()}"
        )


def _amz_date() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request goes out in one ``sendall``, the answer is
    framed by Content-Length (or chunked). ``http.client`` parses every answer's headers with
    the ``email`` package, which cost more CPU than the rest of an SQS call."""

    __slots__ = ("_buffer", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buffer = b""

    def close(self) -> None:
        with suppress(OSError):
            self.sock.close()

    def exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """Status, headers (lower-case names), body, and whether the server closes after it."""
        self.sock.sendall(request)
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        version, status, *_ = head[0].split(" ", 2)
        if not version.startswith("HTTP/1.") or not status.isdigit():
            raise _BadResponse(f"not an HTTP/1.x status line: {head[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        closes = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        elif int(status) in (204, 304) or 100 <= int(status) < 200:
            body = b""
        else:  # framed by the end of the connection
            body, closes = self._read_to_end(), True
        return int(status), headers, body, closes

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _BadResponse("the server closed the connection mid-answer")
        self._buffer += data

    def _read_until(self, marker: bytes) -> bytes:
        while (end := self._buffer.find(marker)) < 0:
            self._fill()
        line, self._buffer = self._buffer[:end], self._buffer[end + len(marker) :]
        return line

    def _read_exactly(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._fill()
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self._read_until(b"\r\n").split(b";", 1)[0], 16):
            chunks.append(self._read_exactly(size))
            self._read_until(b"\r\n")
        while self._read_until(b"\r\n"):  # trailers, up to the empty line
            pass
        return b"".join(chunks)

    def _read_to_end(self) -> bytes:
        while data := self.sock.recv(65536):
            self._buffer += data
        data, self._buffer = self._buffer, b""
        return data


class _BadResponse(ConnectionError):
    """An answer that is not HTTP/1.x or ends early: the connection is dropped."""


class _Pool:
    """Keep-alive connections to one endpoint, one per concurrent caller at most (LIFO)."""

    def __init__(self, endpoint: str, connect_timeout: float, read_timeout: float | None, size: int):
        parts = urlsplit(endpoint)
        https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if https else 80)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._size = size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context(cafile=get_cert_path(True)) if https else None

    def get(self) -> _Connection:
        while True:
            with self._lock:
                idle = self._idle.pop() if self._idle else None
            if idle is None:
                break
            if not _readable(idle.sock):
                return idle
            idle.close()  # readable while idle: the server closed it (keep-alive timeout)
        sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            sock.settimeout(self._read_timeout)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def put(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()


def _readable(sock: socket.socket) -> bool:
    """Data or EOF waiting on an idle connection. ``poll``, not ``select``: a gateway
    serving thousands of clients has descriptors above select's limit of 1024."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Response:
    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], data: bytes):
        self.status = status
        self.headers = headers
        self.data = data


class WireSqsClient:
    """Speaks the SQS JSON protocol itself for the hot calls; boto3 (``fallback``) does the rest.

    Timeouts, pool size and retries come from the boto3 client's config.

    ``sqs_client(endpoint, region, wire=True)`` builds one around a boto3 client; it is
    called exactly as that client is (``send_message_batch(QueueUrl=…, Entries=[…])``).
    """

    def __init__(self, fallback: Any, sleep: Any = time.sleep):
        meta = fallback.meta
        config = meta.config
        self._fallback = fallback
        self._endpoint = meta.endpoint_url
        parts = urlsplit(self._endpoint)
        default_port = 443 if parts.scheme == "https" else 80
        # the Host header sent (no default port, as botocore), which is the one signed
        self._host = parts.hostname if parts.port in (None, default_port) else f"{parts.hostname}:{parts.port}"
        self._path = parts.path or "/"
        # the credentials botocore resolved (explicit keys, env, role…), refreshed by botocore
        self._credentials = fallback._request_signer._credentials
        self._signer = SigV4Signer(meta.region_name, "sqs")
        retries = config.retries or {}
        # botocore's ``max_attempts`` counts retries; ``total_max_attempts`` counts all attempts
        self._attempts = retries.get("total_max_attempts") or retries.get("max_attempts", 2) + 1
        self._pool = _Pool(self._endpoint, config.connect_timeout, config.read_timeout, config.max_pool_connections)
        self._sleep = sleep
        self._random = random.Random()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # anything not on the hot path: boto3 as it is
        return getattr(self._fallback, name)

    # -- the hot calls -------------------------------------------------------------

    def send_message(self, **params: Any) -> dict[str, Any]:
        return self._call("SendMessage", params)

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        return self._call("SendMessageBatch", params)

    def receive_message(self, **params: Any) -> dict[str, Any]:
        response = self._call("ReceiveMessage", params)
        for message in response.get("Messages", ()):
            for value in (message.get("MessageAttributes") or {}).values():
                if "BinaryValue" in value:
                    value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        return response

    def delete_message(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteMessage", params)

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteMessageBatch", params)

    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        return self._call("GetQueueUrl", params)

    def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        return self._call("GetQueueAttributes", params)

    # -- the protocol --------------------------------------------------------------

    def _headers(self, operation: str, body: bytes) -> dict[str, str]:
        headers = {
            "X-Amz-Target": f"AmazonSQS.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-query-mode": "true",
        }
        if self._credentials is None:
            raise botocore.exceptions.NoCredentialsError()
        credentials = self._credentials.get_frozen_credentials()
        self._signer.sign(self._host, self._path, headers, body, credentials, _amz_date())
        headers["User-Agent"] = "surge-sqs-wire"  # not signed, as in botocore
        return headers

    def _send(self, body: bytes, headers: dict[str, str]) -> _Response:
        """One HTTP exchange; a connection goes back to the pool only after a clean one."""
        try:
            conn = self._pool.get()
        except TimeoutError as exc:
            raise botocore.exceptions.ConnectTimeoutError(endpoint_url=self._endpoint, error=exc) from exc
        except OSError as exc:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=self._endpoint, error=exc) from exc
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {self._path} HTTP/1.1\r\nHost: {self._host}\r\nAccept-Encoding: identity\r\n"
            f"{head}Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        try:
            status, response_headers, data, closes = conn.exchange(request)
        except TimeoutError as exc:
            conn.close()
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=self._endpoint, error=exc) from exc
        except (OSError, ValueError) as exc:
            conn.close()
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=self._endpoint, error=exc) from exc
        if closes:
            conn.close()
        else:
            self._pool.put(conn)
        return _Response(status, response_headers, data)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params, default=_blob).encode()
        attempt = 0
        while True:
            attempt += 1
            headers = self._headers(operation, body)  # signed again: the date may have moved
            try:
                response = self._send(body, headers)
            except botocore.exceptions.BotoCoreError:
                if attempt < self._attempts:
                    self._backoff(attempt, throttled=False)
                    continue
                raise
            status = response.status
            if status < 300:
                parsed: dict[str, Any] = json.loads(response.data) if response.data else {}
                parsed["ResponseMetadata"] = _metadata(response, attempt - 1)
                return parsed
            client_error = self._client_error(operation, response, attempt - 1)
            code = client_error.response["Error"]["Code"]
            query_code = client_error.response["Error"].get("QueryErrorCode", code)
            throttled = code in _THROTTLING_CODES or query_code in _THROTTLING_CODES
            retryable = throttled or status in _RETRY_STATUS or code in _TRANSIENT_CODES
            if retryable and attempt < self._attempts:
                self._backoff(attempt, throttled=throttled or status == 429)
                continue
            raise client_error

    def _backoff(self, attempt: int, throttled: bool) -> None:
        # botocore standard mode: rand(0, 1) * min(base * 2 ** (attempt - 1), 20 s)
        base = 1.0 if throttled else 0.05
        with self._lock:
            jitter = self._random.random()
        self._sleep(jitter * min(base * 2 ** (attempt - 1), _MAX_BACKOFF))

    def _client_error(self, operation: str, response: _Response, retries: int) -> botocore.exceptions.ClientError:
        """The exception botocore raises for this error response (JSON protocol, query-compatible codes)."""
        try:
            body = json.loads(response.data) if response.data else {}
        except ValueError:
            body = {"message": response.data.decode(errors="replace")}
        code = str(body.get("__type") or response.status)
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
        error: dict[str, Any] = {"Message": body.get("message", body.get("Message", "")), "Code": code}
        query_error = response.headers.get("x-amzn-query-error", "").split(";")
        if len(query_error) == 2 and query_error[0]:
            error.update(QueryErrorCode=code, Type=query_error[1], Code=query_error[0])
        parsed = {"Error": error, "ResponseMetadata": _metadata(response, retries)}
        # botocore picks the modeled class by the protocol's own code
        modeled = self._fallback.exceptions.from_code(error.get("QueryErrorCode") or error["Code"])
        return modeled(parsed, operation)


def _metadata(response: _Response, retries: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {"HTTPStatusCode": response.status, "RetryAttempts": retries}
    request_id = response.headers.get("x-amzn-requestid")
    if request_id:
        metadata["RequestId"] = request_id
    return metadata


def _blob(value: Any) -> str:
    """Blobs travel base64-encoded in JSON, as botocore's serializer sends them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
