"""How the API writes times: ISO 8601, UTC, milliseconds."""

from __future__ import annotations

from datetime import datetime


def iso_ms(value: datetime | None) -> str | None:
    """A naive UTC datetime (as MySQL returns it) as text, or None.

    >>> iso_ms(datetime(2026, 1, 2, 3, 4, 5, 678000))
    '2026-01-02T03:04:05.678Z'
    """
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"
