"""The orders worker: SQS batches of accepted orders -> ``CheckoutService.settle_batch``."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent

from functions.bootstrap import surge
from functions.config import get_settings
from functions.telemetry.tracing import traced
from functions.workers.batch import handle_batch

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=get_settings().queue_name("orders"), batch_size=50, maximum_batching_window_in_seconds=1)
def settle_orders(event: SQSEvent) -> dict[str, Any]:
    app = surge()
    return handle_batch("orders", event, traced(app.checkout.settle_batch), app.metrics)
