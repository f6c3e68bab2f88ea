"""Chalice keeps the current request on the app object; the threaded local gateway must not mix requests up."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from chalice import Chalice

from functions.runtime.gateway import WsgiGateway


def test_concurrent_requests_each_see_their_own_body() -> None:
    app = Chalice("t")

    @app.route("/echo", methods=["POST"])
    def echo() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        sent = request.json_body["n"]
        time.sleep(0.01)  # the other threads start their own requests meanwhile
        again = app.current_request
        assert again is not None
        return {"sent": sent, "seen": again.json_body["n"]}

    gateway = WsgiGateway(app)
    answers: dict[int, tuple[int, int]] = {}

    def call(n: int) -> None:
        body = json.dumps({"n": n}).encode()
        _, _, raw = gateway.handle("POST", "/echo", {"content-type": "application/json"}, body)
        answer = json.loads(raw)
        answers[n] = (answer["sent"], answer["seen"])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert answers == {n: (n, n) for n in range(20)}
