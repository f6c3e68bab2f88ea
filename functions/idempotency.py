"""Idempotency-Key rules of the domain: which keys are valid, and the id a key stands for."""

from __future__ import annotations

import hashlib

from functions.errors import ValidationFailed

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_KEY_LENGTH = 255


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise ValidationFailed(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters", field="Idempotency-Key"
        )
    return key


def id_for_key(scope: str, key: str) -> str:
    """A stable 26-character id for (scope, key): a retry after an ambiguous failure
    reuses the id, so MySQL keeps one row even if the first attempt did reach SQS."""
    value = int.from_bytes(hashlib.sha256(f"{scope}\0{key}".encode()).digest()[:17], "big") >> 6
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))
