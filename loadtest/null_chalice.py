"""A Chalice app that does nothing, served through Surge's own local API Gateway.

Served by granian exactly as the gateway is (``loadtest.bench`` starts it): ``POST /payment``
answers 202 with an id and ``GET /health`` 200. What a request costs here is the floor of any
Chalice route on this machine: granian, the WSGI hand-off, Chalice's LocalGateway (the Lambda
proxy event and context) and Chalice's routing. ``loadtest.null_app`` is the same without Chalice.

``NULL_WORK`` adds, one at a time, the round trips a real ``POST /payment`` makes, so
``loadtest.gateway_parts`` can price each: ``redis`` (one EVALSHA), ``sqs`` (one SendMessage
to ``NULL_SQS_QUEUE`` at ``SQS_ENDPOINT_URL``), ``batch`` (the same coalesced as the gateway
does), or several joined by ``+``; ``batch+counted`` moves the Redis call onto the sender
thread, one pipelined round trip per batch, as ``POST /payment`` now does.
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Chalice, Response

from functions.runtime.gateway import WsgiGateway

app = Chalice(app_name="surge-null")
ACCEPTED = '{"id":"00000000000000000000000000","status":"accepted"}'
WORK = set(filter(None, os.environ.get("NULL_WORK", "").split("+")))
steps: list[Any] = []

if "redis" in WORK:
    import redis

    _script = redis.Redis.from_url(os.environ["REDIS_URL"]).register_script("return redis.call('INCR', KEYS[1])")
    _key = f"{os.environ.get('REDIS_PREFIX', '')}null-chalice:count"
    steps.append(lambda: _script(keys=[_key]))
if WORK & {"sqs", "batch"}:
    from functions.adapters.sqs import SqsQueue, sqs_client
    from functions.batching import Coalescer

    _queue = SqsQueue(sqs_client(os.environ["SQS_ENDPOINT_URL"], "us-east-1", wire=True))  # as the gateway
    _target: Any = _queue
    if "counted" in WORK:  # the sender thread counts each batch in one pipelined round trip
        import redis as _redis

        _r = _redis.Redis.from_url(os.environ["REDIS_URL"])
        _count = _r.register_script("return redis.call('INCR', KEYS[1])")
        _ckey = f"{os.environ.get('REDIS_PREFIX', '')}null-chalice:count"

        class _SendThenCount:
            def send_batch(self, name: str, entries: list[Any]) -> list[Any]:
                ids = _queue.send_batch(name, entries)
                pipe = _r.pipeline(transaction=False)
                for _ in entries:
                    _count(keys=[_ckey], client=pipe)
                pipe.execute()
                return ids

        _target = _SendThenCount()
    _name = os.environ["NULL_SQS_QUEUE"]
    if "batch" in WORK:  # as the gateway coalesces: its window and sender threads
        from functions.config import Settings

        _settings = Settings.from_env()
        _send = Coalescer(
            lambda entries: _target.send_batch(_name, entries), _settings.sqs_batch_wait_ms,
            _settings.sqs_batch_senders, "sqs",
        ).submit  # fmt: skip
        steps.append(lambda: _send(('{"type": "null"}', None)))
    else:
        steps.append(lambda: _queue.send(_name, '{"type": "null"}'))


@app.route("/payment", methods=["POST"])
def payment() -> Response:
    for step in steps:
        step()
    return Response(body=ACCEPTED, status_code=202, headers={"Content-Type": "application/json"})


@app.route("/health")
def health() -> dict[str, Any]:
    return {}


application = WsgiGateway(app)
