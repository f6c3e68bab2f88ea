"""The schema migration custom resource: it migrates and answers CloudFormation's URL,
also when it fails (or the stack would wait an hour). Real MariaDB, a real HTTP PUT."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from functions.config import Settings
from functions.schema_migration import migrate_schema


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local stand-in for CloudFormation's pre-signed S3 URL; collects what is PUT."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response", received
    server.shutdown()


def event(url: str, request_type: str = "Create") -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/surge/x",
        "RequestId": "r1",
        "LogicalResourceId": "SchemaMigration",
        "ResourceProperties": {"SqlDigest": "abc"},
    }


def test_create_migrates_and_reports_success(prepared: Settings, response_url: Any) -> None:
    url, received = response_url
    reply = migrate_schema(event(url), None)
    assert reply["Status"] == "SUCCESS"
    assert received[0]["Status"] == "SUCCESS"
    assert received[0]["LogicalResourceId"] == "SchemaMigration" and received[0]["RequestId"] == "r1"
    assert "Applied" in received[0]["Data"]


def test_a_failed_migration_is_reported_as_failed(response_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url, received = response_url
    unreachable = Settings(mysql_url="mysql://root@127.0.0.1:1/nowhere")
    monkeypatch.setattr("functions.schema_migration.get_settings", lambda: unreachable)
    migrate_schema(event(url, "Update"), None)
    assert received[0]["Status"] == "FAILED" and received[0]["Reason"]


def test_delete_leaves_the_schema_and_answers(response_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url, received = response_url
    monkeypatch.setattr("functions.schema_migration.get_settings", lambda: pytest.fail("Delete must not migrate"))
    migrate_schema(event(url, "Delete"), None)
    assert received[0]["Status"] == "SUCCESS"
