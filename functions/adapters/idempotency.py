"""Idempotent requests through Powertools' idempotency utility on Redis.

The same ``Idempotency-Key`` with the same payload within the TTL replays the first
answer; with another payload it is refused (422); while the first call is still
running, a second one is told 409.
"""

from __future__ import annotations

import warnings
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

from functions.errors import DependencyDown, IdempotencyKeyReused, RequestInProgress
from functions.idempotency import check_key


class _RequestDeadline:
    """Stands in for the Lambda context Powertools asks for: an in-progress record whose
    owner died (a killed process) expires after this, instead of blocking the key for 24 h."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# 3.37 marks the Redis class deprecated in favour of its alias; subclassing either warns.
warnings.filterwarnings("ignore", message="RedisCachePersistenceLayer will be removed", category=DeprecationWarning)


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
    """One answer per (scope, key) and payload, kept in Redis; ``client`` is a live Redis client.

    >>> guard = RedisIdempotency(client, prefix, ttl_seconds=86400)
    >>> guard.run("payment", "invoice-42", {"amount_cents": 1250}, lambda: {"id": "p1"})
    {'id': 'p1'}
    >>> guard.run("payment", "invoice-42", {"amount_cents": 1250}, lambda: {"id": "p2"})  # a retry: the first answer
    {'id': 'p1'}
    """

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int):
        self._store = _ValidatingRedisLayer(client=client)  # type: ignore[arg-type]  # redis.Redis: set() wider than declared
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=ttl_seconds,
            raise_on_no_idempotency_key=True,
            lambda_context=_RequestDeadline(),  # type: ignore[arg-type]  # only its remaining time is read
        )
        self._prefix = prefix

    def run_keyed(
        self, scope: str, key: str | None, payload: dict[str, Any], call: Callable[[str | None], dict[str, Any]]
    ) -> dict[str, Any]:
        """``call(None)`` for a request without a key; else ``call(key)`` once per (scope, key)."""
        if key is None:
            return call(None)
        checked = check_key(key)
        return self.run(scope, checked, payload, lambda: call(checked))

    def run(self, scope: str, key: str, payload: dict[str, Any], call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped; once() keeps its hints
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
            raise DependencyDown("redis", exc) from exc
