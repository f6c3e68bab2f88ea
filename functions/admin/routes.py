"""Operator routes, admin key only: dead-letter queues (GET /admin/dlq/{queue},
POST /admin/dlq/{queue}/redrive), POST /admin/reset and POST /admin/catalogue."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
from chalice import Blueprint

from functions.admin.auth import HEADER, check_admin_key
from functions.admin.secret import admin_key
from functions.bootstrap import surge
from functions.errors import DependencyDown, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from functions.http.request import json_object, query_int, reject_unknown_fields
from functions.workers.queues import app_queues

bp = Blueprint(__name__)


def require_admin() -> None:
    """Raise 401/403 unless the current request carries the admin key."""
    try:
        configured = admin_key(surge().settings)
    except DependencyDown as exc:
        raise ServiceUnavailable("admin key store unavailable") from exc
    check_admin_key(bp.current_request.headers.get(HEADER.lower()), configured)


def consumed_queue_kinds() -> list[str]:
    """Kinds of the queues the workers consume (``payments``, ``orders``…)."""
    prefix = surge().settings.queue_prefix
    return [queue.removeprefix(prefix) for queue in app_queues(surge().settings)]


def _queue_urls(kind: str) -> tuple[Any, str, str]:
    if kind not in consumed_queue_kinds():
        raise NotFound(f"no queue {kind[:40]!r}; known: {', '.join(consumed_queue_kinds())}")
    sqs = surge().sqs
    name = surge().settings.queue_name(kind)
    try:
        return sqs.client, sqs.url(name), sqs.url(f"{name}-dlq")
    except DependencyDown as exc:
        raise ServiceUnavailable("queue service unavailable") from exc


@bp.route("/admin/dlq/{queue}", methods=["GET"])
def show_dlq(queue: str) -> dict[str, Any]:
    from functions.runtime.dlq import show

    require_admin()
    client, _main, dlq = _queue_urls(queue)
    peek = query_int(bp.current_request, "peek", default=5, low=0, high=10)
    return show(client, dlq, peek=peek)


@bp.route("/admin/dlq/{queue}/redrive", methods=["POST"])
def redrive_dlq(queue: str) -> dict[str, Any]:
    from functions.runtime.dlq import redrive

    require_admin()
    client, main, dlq = _queue_urls(queue)
    limit = query_int(bp.current_request, "limit", default=1000, low=1, high=10_000)
    try:
        moved = redrive(client, dlq, main, limit=limit)
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "AccessDenied" in code:  # on AWS the functions' role may not consume DLQs, by design
            raise Forbidden("this function may not consume the DLQ; run `surge dlq redrive` as an operator") from exc
        raise ServiceUnavailable("queue service unavailable; nothing more was redriven") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise ServiceUnavailable("queue service unavailable; nothing more was redriven") from exc
    return {"queue": queue, "redriven": moved}


@bp.route("/admin/reset", methods=["POST"])
def reset_everything() -> dict[str, Any]:
    """Empty this deployment's Redis keys, queues and tables (seed 002's ``app:reset``)."""
    from functions.checkout.admin import reset

    require_admin()
    try:
        return reset(surge())
    except DependencyDown as exc:
        raise ServiceUnavailable("a store is unavailable; the reset may be partial, run it again") from exc


@bp.route("/admin/catalogue", methods=["POST"])
def load_catalogue() -> dict[str, Any]:
    """Load the flash-sale catalogue: optional body ``{"hot_stock", "products", "regular_stock"}``."""
    from functions.checkout import admin as checkout_admin

    require_admin()
    request = bp.current_request
    body = json_object(request, surge().settings.max_body_bytes) if request.raw_body else {}
    reject_unknown_fields(body, set(CATALOGUE_LIMITS))
    sizes = {name: _whole(body.get(name, default), name, high) for name, (default, high) in CATALOGUE_LIMITS.items()}
    try:
        return checkout_admin.load_catalogue(surge(), **sizes)
    except DependencyDown as exc:
        raise ServiceUnavailable("a store is unavailable; load the catalogue again") from exc


# name -> (default, most allowed): bounded so one call stays a few seconds
CATALOGUE_LIMITS = {"hot_stock": (10_000, 10_000_000), "products": (1000, 10_000), "regular_stock": (100, 1_000_000)}


def _whole(value: object, name: str, high: int) -> int:
    if type(value) is not int or not 0 <= value <= high:
        raise ValidationFailed(f"{name} must be a whole number from 0 to {high}", field=name)
    return value
