"""Reading a batch of queued messages, shared by the services' worker steps."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from functions.observability import logger, set_correlation_id

T = TypeVar("T")


def parse_messages(
    messages: Sequence[tuple[str, str]], parse: Callable[[str], T], what: str, request_ids: Mapping[str, str]
) -> tuple[list[tuple[str, T]], list[str]]:
    """(message id, parsed) for each message ``parse`` accepts, and the ids of the others:
    a malformed message fails alone, logged under its request id (from ``request_ids``).

    >>> parse_messages([("m1", "12"), ("m2", "twelve")], int, "number", {})
    ([('m1', 12)], ['m2'])
    """
    parsed: list[tuple[str, T]] = []
    failed: list[str] = []
    for mid, body in messages:
        try:
            parsed.append((mid, parse(body)))
        except (ValueError, KeyError, TypeError) as exc:
            set_correlation_id(request_ids.get(mid))
            logger.error(f"malformed {what} message", extra={"message_id": mid, "reason": str(exc)})
            set_correlation_id(None)
            failed.append(mid)
    return parsed, failed
