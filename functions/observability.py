"""Structured JSON logging shared by every function (Powertools Logger).

The correlation id is the request id minted at the gateway; it travels in each SQS
message so a payment can be followed from request to MySQL by its id.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from functions.config import logging_config

_service, _level = logging_config()
logger = Logger(service=_service, level=_level)


def set_correlation_id(value: str | None) -> None:
    """Tag this thread's log lines with ``value`` (``None`` removes it).

    Thread-local on purpose: a gateway process serves many requests at once on its
    threads, and the pollers of a worker process handle batches side by side; the
    logger's plain ``set_correlation_id`` is process-wide and would mix their ids.
    """
    if value is None:
        logger.thread_safe_remove_keys(["correlation_id"])
    else:
        logger.thread_safe_append_keys(correlation_id=value)
