"""Which SQS queues the app's ``on_sqs_message`` handlers consume (Lambda-safe: chalice.app only)."""

from __future__ import annotations

from chalice import Chalice
from chalice.app import SQSEventConfig


def queue_of(source: SQSEventConfig) -> str:
    """The queue name of a handler, whether it was given by name or by ARN."""
    return source.queue or str(source.queue_arn).rsplit(":", 1)[-1]


def consumed_queues(app: Chalice) -> list[str]:
    """Names of the queues consumed by ``app``, in registration order, without duplicates.

    >>> consumed_queues(Chalice("empty"))
    []
    """
    names = [queue_of(s) for s in app.event_sources if isinstance(s, SQSEventConfig)]
    return list(dict.fromkeys(names))


def app_queues() -> list[str]:
    """The queues ``app.py``'s handlers consume (payments, orders…); each has ``<name>-dlq``."""
    from app import app  # imported late: app.py imports the modules that call this

    return consumed_queues(app)
