"""The burst generator gets every answer of a burst, and the ids of the accepted ones."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from loadtest.burst import fire
from loadtest.null_app import application


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 512


@pytest.fixture
def null_app() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, application, server_class=_Threaded, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_request_of_a_burst_is_answered_and_counted(null_app: str) -> None:
    burst = asyncio.run(fire(null_app, "POST", "/checkout", lambda i: b'{"n": %d}' % i, 300))
    assert burst.statuses == {202: 300} and burst.errors == 0
    assert len(burst.accepted_ids) == 300 and burst.seconds > 0
    assert burst.row()["per_second"] == round(300 / burst.seconds)


def test_answers_that_are_not_2xx_carry_no_id(null_app: str) -> None:
    burst = asyncio.run(fire(null_app, "GET", "/statistics", lambda i: b"", 20))
    assert burst.statuses == {200: 20} and burst.accepted_ids == []
