"""GET /openapi.json: the API as OpenAPI 3 (``functions/openapi.json``, kept in sync with
the routes by ``tests/unit/test_openapi.py``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from functions.config import direct_payments_enabled
from functions.http.errors import Blueprint

SPEC_PATH = Path(__file__).with_name("openapi.json")

bp = Blueprint(__name__)


@cache
def spec() -> dict[str, Any]:
    """The document, without ``/payment/direct`` unless that route is enabled."""
    document = dict(json.loads(SPEC_PATH.read_text()))
    if not direct_payments_enabled():
        document["paths"] = {k: v for k, v in document["paths"].items() if k != "/payment/direct"}
    return document


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> dict[str, Any]:
    return spec()
