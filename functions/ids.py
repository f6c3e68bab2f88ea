"""Time-ordered ids (ULID layout): sortable, so InnoDB appends to its primary key."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
ID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id(now_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
