"""The load-test harness hands each stack the configuration it was asked for."""

from __future__ import annotations

from loadtest.harness import StackShape, stack_env


def test_a_variant_wins_over_the_stack_shape() -> None:
    """``loadtest.cpu_ab --variant SQS_BATCH_WAIT_MS=5`` must reach the gateway: a shape that
    silently overrode it would compare a configuration with itself."""
    env = stack_env(StackShape(sqs_batch_wait_ms=3, pollers_per_queue=5), {"SQS_BATCH_WAIT_MS": "5"})
    assert env["SQS_BATCH_WAIT_MS"] == "5"
    assert env["POLLERS_PER_QUEUE"] == "5"  # what the variant does not name comes from the shape
    assert stack_env(StackShape(sqs_batch_wait_ms=3))["SQS_BATCH_WAIT_MS"] == "3"
    assert env["RATE_LIMIT_ENABLED"] == "0" and env["SCHEDULES"] == "0"
