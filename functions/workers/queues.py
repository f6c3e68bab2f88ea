"""Which SQS queues the app's ``on_sqs_message`` handlers consume.

The names come from configuration (``Settings.consumed_queues``), never from importing
``app``; ``consumed_queues(app)`` reads them back from a loaded app (packaging, tests).
"""

from __future__ import annotations

from chalice import Chalice
from chalice.app import SQSEventConfig

from functions.config import Settings, get_settings


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


def app_queues(settings: Settings | None = None) -> list[str]:
    """The queues the app's handlers consume (payments, orders…); each has ``<name>-dlq``."""
    return (settings or get_settings()).consumed_queues()
