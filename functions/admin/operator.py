"""Operator surfaces (the dashboard, ``/metrics``, the queue figures of ``/statistics``):
open on one machine, behind the admin key where ``OPERATOR_AUTH=admin-key`` (the AWS stack).

Revenue, order counts and queue health are not for whoever finds the URL; clients need
only ``/payment``, ``/checkout`` and their own ids.
"""

from __future__ import annotations

from collections.abc import Mapping

from functions.admin.auth import HEADER, check_admin_key
from functions.admin.secret import admin_key
from functions.config import Settings
from functions.errors import DependencyDown, Forbidden, ServiceUnavailable, Unauthorized

ADMIN_KEY = "admin-key"


def require_operator(headers: Mapping[str, str], settings: Settings) -> None:
    """Raise 401/403 unless operator surfaces are open here or ``headers`` carry the admin key."""
    if settings.operator_auth != ADMIN_KEY:
        return
    try:
        configured = admin_key(settings)
    except DependencyDown as exc:
        raise ServiceUnavailable("admin key store unavailable") from exc
    check_admin_key(headers.get(HEADER.lower()), configured)


def is_operator(headers: Mapping[str, str], settings: Settings) -> bool:
    """Whether this request may see operator figures (no error: the public part is still served)."""
    try:
        require_operator(headers, settings)
    except (Unauthorized, Forbidden, ServiceUnavailable):
        return False
    return True
