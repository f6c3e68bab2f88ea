"""Idempotent requests through Powertools' idempotency utility on Redis.

The same ``Idempotency-Key`` with the same payload within the TTL replays the first
answer; with another payload it is refused (422); while the first call is still
running, a second one is told 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import redis
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.cache import CachePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from functions.errors import IdempotencyKeyReused, RequestInProgress, ServiceUnavailable, ValidationFailed

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


class _ValidatingRedisLayer(CachePersistenceLayer):
    """Powertools 3.37's Redis layer drops the payload hash when a record completes, so an
    identical retry fails validation (same bug as powertools-lambda-typescript#5705).
    Keep the hash in the completed record."""

    def _update_record(self, data_record: DataRecord) -> None:
        mapping: dict[str, Any] = {
            self.data_attr: data_record.response_data,
            self.status_attr: data_record.status,
            self.expiry_attr: data_record.expiry_timestamp,
        }
        if self.payload_validation_enabled:
            mapping[self.validation_key_attr] = data_record.payload_hash
        ttl = self._get_expiry_second(data_record.expiry_timestamp)
        self.client.set(name=data_record.idempotency_key, value=self._json_serializer(mapping), ex=ttl)


class RedisIdempotency:
    """Example::

    guard = RedisIdempotency(redis_client, prefix="surge:", ttl_seconds=86400)
    body = guard.run("payment", key, {"amount_cents": 1250}, lambda: accept(...))
    """

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int):
        self._store = _ValidatingRedisLayer(client=client)
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=ttl_seconds,
            raise_on_no_idempotency_key=True,
        )
        self._prefix = prefix

    def run(self, scope: str, key: str, payload: dict[str, Any], call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        @idempotent_function(
            data_keyword_argument="request",
            persistence_store=self._store,
            config=self._config,
            key_prefix=f"{self._prefix}idem:{scope}",
        )
        def once(request: dict[str, Any]) -> dict[str, Any]:
            return call()

        try:
            return dict(once(request={"key": key, "payload": payload}))
        except IdempotencyValidationError:
            raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request body") from None
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgress("a request with this Idempotency-Key is still in progress") from None
        except IdempotencyPersistenceLayerError as exc:
            raise ServiceUnavailable("idempotency store unavailable; nothing was accepted") from exc
