"""Parse request bodies strictly: JSON only, exact decimals, no duplicate keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalice.app import Request

from functions.errors import BadJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadJson(f"duplicate key in JSON object: {key[:64]!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise BadJson(f"{name} is not valid JSON")


def parse_json(raw: bytes | str, max_bytes: int) -> Any:
    """Decode ``raw`` as JSON; numbers become ``Decimal``/``int``, never ``float``.

    >>> parse_json(b'{"amount": 12.5}', 100)
    {'amount': Decimal('12.5')}
    """
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes", limit=max_bytes)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("request body is not valid UTF-8") from None
    if not raw.strip():
        raise BadJson("request body is empty; expected a JSON object")
    try:
        return json.loads(
            raw,
            parse_float=Decimal,
            parse_constant=_no_constants,
            object_pairs_hook=_no_duplicates,
        )
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, BadJson):
            raise
        raise BadJson(f"request body is not valid JSON: {str(exc)[:120]}") from None


def json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body of ``request`` as a JSON object, after content-type and size checks."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json", received=content_type or None)
    body = parse_json(request.raw_body or b"", max_bytes)
    if not isinstance(body, dict):
        raise ValidationFailed("request body must be a JSON object")
    return body


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or a 400 naming it."""
    params: Mapping[str, str] = request.query_params or {}
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed(f"{name} must be a whole number", field=name)
    value = int(raw)
    if not low <= value <= high:
        raise ValidationFailed(f"{name} must be between {low} and {high}", field=name)
    return value
