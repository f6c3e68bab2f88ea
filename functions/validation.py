"""Checks of request bodies that belong to the domain (the models call them)."""

from __future__ import annotations

from typing import Any

from functions.errors import ValidationFailed


def reject_unknown_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed(f"unknown field: {unknown[0][:64]!r}", field=unknown[0][:64])
