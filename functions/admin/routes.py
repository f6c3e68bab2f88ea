"""Operator routes, admin key only: dead-letter queues (GET /admin/dlq/{queue},
POST /admin/dlq/{queue}/redrive), POST /admin/reset and POST /admin/catalogue."""

from __future__ import annotations

from typing import Any

from functions.admin.auth import HEADER, check_admin_key
from functions.admin.secret import admin_key
from functions.bootstrap import surge
from functions.errors import ValidationFailed
from functions.http.errors import Blueprint
from functions.http.request import json_object, query_int
from functions.validation import reject_unknown_fields

bp = Blueprint(__name__)


def require_admin() -> None:
    """Raise 401/403 unless the current request carries the admin key."""
    check_admin_key(bp.current_request.headers.get(HEADER.lower()), admin_key(surge().settings))


@bp.route("/admin/dlq/{queue}", methods=["GET"])
def show_dlq(queue: str) -> dict[str, Any]:
    require_admin()
    peek = query_int(bp.current_request, "peek", default=5, low=0, high=10)
    return surge().operator.show_dlq(queue, peek=peek)


@bp.route("/admin/dlq/{queue}/redrive", methods=["POST"])
def redrive_dlq(queue: str) -> dict[str, Any]:
    require_admin()
    limit = query_int(bp.current_request, "limit", default=1000, low=1, high=10_000)
    return {"queue": queue, "redriven": surge().operator.redrive(queue, limit=limit)}


@bp.route("/admin/reset", methods=["POST"])
def reset_everything() -> dict[str, Any]:
    """Empty this deployment's Redis keys, queues and tables; refused if a dependency is down."""
    require_admin()
    return surge().operator.reset()


@bp.route("/admin/catalogue", methods=["POST"])
def load_catalogue() -> dict[str, Any]:
    """Load the flash-sale catalogue: optional body ``{"hot_stock", "products", "regular_stock"}``."""
    require_admin()
    request = bp.current_request
    body = json_object(request, surge().settings.max_body_bytes) if request.raw_body else {}
    reject_unknown_fields(body, set(CATALOGUE_LIMITS))
    sizes = {name: _whole(body.get(name, default), name, high) for name, (default, high) in CATALOGUE_LIMITS.items()}
    return surge().operator.load_catalogue(**sizes)


# name -> (default, most allowed): bounded so one call stays a few seconds
CATALOGUE_LIMITS = {"hot_stock": (10_000, 10_000_000), "products": (1000, 10_000), "regular_stock": (100, 1_000_000)}


def _whole(value: object, name: str, high: int) -> int:
    if type(value) is not int or not 0 <= value <= high:
        raise ValidationFailed(f"{name} must be a whole number from 0 to {high}", field=name)
    return value
