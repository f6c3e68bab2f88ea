"""POST /admin/dlq/{queue}/redrive, GET /admin/dlq/{queue}: dead-letter queues, admin only."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.admin.auth import HEADER, check_admin_key
from functions.admin.secret import admin_key
from functions.bootstrap import surge
from functions.errors import DependencyDown, NotFound, ServiceUnavailable
from functions.http.request import query_int

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
    from app import app  # imported late: app.py imports this module
    from functions.runtime.pollers import mappings_of

    prefix = surge().settings.queue_prefix
    return [m.queue.removeprefix(prefix) for m in mappings_of(app)]


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
    return {"queue": queue, "redriven": redrive(client, dlq, main, limit=limit)}
