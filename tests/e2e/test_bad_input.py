"""Hostile input against the real gateway: a clear JSON 4xx, and nothing written anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.config import Settings
from tests.support import http, mysql_count, queue_depth, redis_keys

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
PAY = b'{"amount": "1.00"}'
ORDER = (
    b'{"items": [{"product_id": 100, "quantity": 1}], '
    b'"delivery": {"address": "1 Main St, Kyiv", "phone": "+380 44 123 4567", "email": "buyer@example.com"}}'
)
DEEP = ("[" * 5000 + "]" * 5000).encode()
DEEP_IN_FIELD = ('{"amount": ' + "[" * 3000 + "]" * 3000 + "}").encode()

# (name, method, path, raw body, headers, expected status)
CASES: list[tuple[str, str, str, bytes | None, dict[str, str], int]] = [
    ("oversized body", "POST", "/payment", b'{"amount": "1.00", "pad": "' + b"x" * 20_000 + b'"}', JSON, 413),
    ("deep JSON", "POST", "/payment", DEEP, JSON, 400),
    ("deep JSON in a field", "POST", "/payment", DEEP_IN_FIELD, JSON, 400),
    ("huge number", "POST", "/payment", b'{"amount": 1e400}', JSON, 400),
    ("huge integer", "POST", "/payment", b'{"amount": ' + b"9" * 5000 + b"}", JSON, 400),
    ("tiny number", "POST", "/payment", b'{"amount": 1e-400}', JSON, 400),
    ("NaN", "POST", "/payment", b'{"amount": NaN}', JSON, 400),
    ("Infinity", "POST", "/payment", b'{"amount": Infinity}', JSON, 400),
    ("negative", "POST", "/payment", b'{"amount": "-1.00"}', JSON, 400),
    ("three decimals", "POST", "/payment", b'{"amount": "1.005"}', JSON, 400),
    ("boolean amount", "POST", "/payment", b'{"amount": true}', JSON, 400),
    ("NUL in currency", "POST", "/payment", b'{"amount": "1.00", "currency": "EU\\u0000R"}', JSON, 400),
    ("NUL in amount", "POST", "/payment", b'{"amount": "1.00\\u0000"}', JSON, 400),
    ("RTL override", "POST", "/payment", '{"amount": "1.00", "currency": "\u202eRUE"}'.encode(), JSON, 400),
    ("fullwidth digits", "POST", "/payment", '{"amount": "\uff11.00"}'.encode(), JSON, 400),
    ("lone surrogate", "POST", "/payment", b'{"amount": "1.00", "currency": "\\ud800"}', JSON, 400),
    ("surrogate key", "POST", "/payment", b'{"amount": "1.00", "\\udfff": 1}', JSON, 400),
    ("non-UTF-8 bytes", "POST", "/payment", b'{"amount": "1.00", "currency": "\xff\xfe"}', JSON, 400),
    ("duplicate keys", "POST", "/payment", b'{"amount": "1.00", "amount": "1000.00"}', JSON, 400),
    ("unknown field", "POST", "/payment", b'{"amount": "1.00", "admin": true}', JSON, 400),
    ("array body", "POST", "/payment", b'[{"amount": "1.00"}]', JSON, 400),
    ("empty body", "POST", "/payment", b"", JSON, 400),
    ("truncated JSON", "POST", "/payment", b'{"amount": "1.0', JSON, 400),
    ("not JSON", "POST", "/payment", b'{"amount": "1.00"}', {"Content-Type": "text/plain"}, 415),
    ("form body", "POST", "/payment", b"amount=1.00", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ("too long idempotency key", "POST", "/payment", PAY, {**JSON, "Idempotency-Key": "k" * 300}, 400),
    ("non-ASCII idempotency key", "POST", "/payment", PAY, {**JSON, "Idempotency-Key": "cl\xe9"}, 400),
    ("wrong method", "GET", "/payment", None, {}, 405),
    ("wrong method with body", "PUT", "/payment", b'{"amount": "1.00"}', JSON, 405),
    ("delete a payment", "DELETE", "/payments/01J00000000000000000000000", None, {}, 405),
    ("unknown route", "GET", "/payments", None, {}, 403),
    ("unknown deep route", "POST", "/payment/../admin", b'{"amount": "1.00"}', JSON, 403),
    ("odd payment id", "GET", "/payments/%00%ff", None, {}, 404),
    ("checkout: deep JSON", "POST", "/checkout", DEEP, JSON, 400),
    ("checkout: huge quantity", "POST", "/checkout", ORDER.replace(b'"quantity": 1', b'"quantity": 1e400'), JSON, 400),
    (
        "checkout: huge product id",
        "POST",
        "/checkout",
        ORDER.replace(b'"product_id": 100', b'"product_id": 1' + b"0" * 40),
        JSON,
        400,
    ),
    (
        "checkout: fractional quantity",
        "POST",
        "/checkout",
        ORDER.replace(b'"quantity": 1', b'"quantity": 1.5'),
        JSON,
        400,
    ),
    ("checkout: NUL in address", "POST", "/checkout", ORDER.replace(b"1 Main St", b"1 Main\\u0000St"), JSON, 400),
    ("checkout: RTL in email", "POST", "/checkout", ORDER.replace(b"buyer@", "\u202ebuyer@".encode()), JSON, 400),
    ("checkout: duplicate keys", "POST", "/checkout", ORDER[:-1] + b', "items": []}', JSON, 400),
    (
        "checkout: same product twice",
        "POST",
        "/checkout",
        ORDER.replace(b"}],", b'}, {"product_id": 100, "quantity": 1}],'),
        JSON,
        400,
    ),
    ("checkout: wrong method", "GET", "/checkout", None, {}, 405),
    ("order: odd id", "GET", "/orders/%00%ff", None, {}, 404),
    ("product: huge id", "GET", "/products/99999999999999999999999", None, {}, 404),
    ("product: negative id", "GET", "/products/-1", None, {}, 404),
    ("product: full-width id", "GET", "/products/%EF%BC%91", None, {}, 404),
    ("huge window", "GET", "/statistics?window=99999999999999999999", None, {}, 400),
    ("negative window", "GET", "/statistics?window=-5", None, {}, 400),
    ("lower-case currency", "GET", "/statistics?currency=eur", None, {}, 400),
]


def assert_nothing_written(settings: Settings, base: str) -> None:
    for kind in ("payments", "orders"):
        assert queue_depth(settings, kind) == 0
    for table in ("payments", "orders", "order_items", "products"):
        assert mysql_count(settings, table) == 0
    # no payment marker, no statistics (rate-limit buckets and request metrics are not data)
    assert [k for k in redis_keys(settings) if ":rl:" not in k and not k.endswith(":metrics")] == []
    status, _, stats = http("GET", f"{base}/statistics")
    assert status == 200 and stats["payments"]["count"] == 0


def assert_clean_error(status: int, headers: dict[str, str], body: Any, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    assert isinstance(body, dict), body
    assert set(body) >= {"code", "message", "request_id"}
    assert body["request_id"] == headers["x-request-id"]
    text = json.dumps(body)
    for leak in ("Traceback", 'File "', "site-packages", ".py"):
        assert leak not in text


@pytest.mark.parametrize(("name", "method", "path", "body", "headers", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_4xx_and_writes_nothing(
    stack: str, clean: Settings, name: str, method: str, path: str, body: bytes | None, headers: dict[str, str],
    expected: int,
) -> None:  # fmt: skip
    status, response_headers, response = http(method, stack + path, body, headers)
    assert_clean_error(status, response_headers, response, expected)
    assert_nothing_written(clean, stack)


def test_a_body_over_the_gateway_limit_is_refused_before_it_is_read(stack: str, clean: Settings) -> None:
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(stack)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        # announce 2 MB, send nothing: the gateway answers from the headers alone
        conn.putrequest("POST", "/payment")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(2 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    headers = {k.lower(): v for k, v in response.getheaders()}
    assert_clean_error(response.status, headers, body, 413)
    assert_nothing_written(clean, stack)


def test_a_good_payment_after_the_bad_ones_is_accepted(stack: str, clean: Settings) -> None:
    """The checks above can fail: a valid request does write."""
    status, _, body = http("POST", f"{stack}/payment", {"amount": "1.00"})
    assert status == 202, body
    with pytest.raises(AssertionError):
        assert_nothing_written(clean, stack)
