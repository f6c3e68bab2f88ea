"""The admin key check, shared by the admin routes and the CLI."""

from __future__ import annotations

import hashlib
import hmac

from functions.errors import Forbidden, Unauthorized

HEADER = "X-Admin-Key"


def _digest(value: str) -> bytes:
    # hash first: compare_digest then sees equal lengths, and any header bytes are fine
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def check_admin_key(provided: str | None, configured: str) -> None:
    """Raise unless ``provided`` equals ``configured`` (compared in constant time).

    No key configured → 403 (admin actions are disabled); no key given → 401;
    a wrong key → 403.

    >>> check_admin_key("s3cret", "s3cret")
    >>> check_admin_key("guess", "s3cret")
    Traceback (most recent call last):
    ...
    functions.errors.Forbidden: the admin key is wrong
    """
    if not configured:
        raise Forbidden("admin actions are disabled: no ADMIN_KEY (or ADMIN_KEY_SECRET_ID) is configured")
    if not provided:
        raise Unauthorized(f"this action needs the admin key in the {HEADER} header")
    if not hmac.compare_digest(_digest(provided), _digest(configured)):
        raise Forbidden("the admin key is wrong")
