"""Secrets come from the environment or AWS Secrets Manager, never from code or files.

``ADMIN_KEY`` wins when set; else ``ADMIN_KEY_SECRET_ID`` names a Secrets Manager secret
whose string value is the key (through Powertools Parameters: a rotated key is used
within ``SECRET_MAX_AGE_SECONDS``).
"""

from __future__ import annotations

from functions.adapters.secrets import secret_string
from functions.config import Settings


def _secret_string(secret_id: str, region: str) -> str:
    return secret_string(secret_id, region)


def admin_key(settings: Settings) -> str:
    """The configured admin key, or ``""`` when none is configured (admin disabled).

    >>> admin_key(Settings(admin_key="s3cret"))
    's3cret'
    >>> admin_key(Settings())
    ''
    """
    if settings.admin_key:
        return settings.admin_key
    if settings.admin_key_secret_id:
        return _secret_string(settings.admin_key_secret_id, settings.aws_region)
    return ""
