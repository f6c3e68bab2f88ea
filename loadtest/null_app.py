"""A WSGI app that does nothing: the floor of a load profile on this machine.

Served by granian exactly as the gateway is (``loadtest.bench`` starts it), it answers
``POST`` with a 202 and an id, and anything else with 200 ``{}``: what a load generator
measures against it is the cost of the generator, the HTTP server and the machine,
without any of Surge's work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

ACCEPTED = b'{"id":"00000000000000000000000000","order_id":"00000000000000000000000000","status":"accepted"}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    post = environ["REQUEST_METHOD"] == "POST"
    body = ACCEPTED if post else b"{}"
    status = "202 Accepted" if post else "200 OK"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
