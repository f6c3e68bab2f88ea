"""Lambda partial batch responses (``ReportBatchItemFailures``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def batch_response(failed_message_ids: Iterable[str]) -> dict[str, Any]:
    """Only the listed messages come back; SQS moves one to the DLQ after N receives."""
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed_message_ids]}


def message_id(record: Any) -> str:
    return str(record.to_dict()["messageId"])
