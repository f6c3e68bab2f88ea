"""Tracing: on Lambda every invocation and the workers' service calls are X-Ray subsegments;
locally the Tracer is never built and aws_xray_sdk is never imported."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment
from chalice import Chalice
from chalice.test import Client

from functions import bootstrap
from functions.telemetry import tracing
from functions.telemetry.metrics import Metrics
from functions.workers.payments import store_payments
from tests.fakes import FakeMetricStore, FakePaymentLedger
from tests.unit.test_worker_batch import payment, record, service

REPO = Path(__file__).resolve().parents[2]


class FakeSegment(BaseSegment):
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.errors: list[BaseException] = []

    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.errors.append(exception)


class FakeProvider(BaseProvider):
    """Records the subsegments instead of sending them to X-Ray."""

    def __init__(self) -> None:
        self.segments: list[FakeSegment] = []

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        segment = FakeSegment(str(name))
        self.segments.append(segment)
        yield segment

    def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        raise NotImplementedError

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Sequence[str]) -> None: ...
    def patch_all(self) -> None: ...

    def names(self) -> list[str]:
        return [segment.name for segment in self.segments]


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    """Tracing on, as on Lambda, with a provider that records instead of sending."""
    fake = FakeProvider()
    active = Tracer(service=tracing.SERVICE, disabled=False, auto_patch=False, provider=fake)
    monkeypatch.setattr(tracing, "tracer", lambda: active)
    yield fake
    Tracer._reset_config()  # type: ignore[no-untyped-call]  # Tracer keeps its configuration on the class


def traced_app() -> Chalice:
    app = Chalice(app_name="traced")
    tracing.instrument(app)

    @app.route("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    @app.on_sqs_message(queue="q")
    def work(sqs_event: Any) -> None:
        return None

    return app


def test_every_invocation_is_a_subsegment_with_cold_start_and_service(provider: FakeProvider) -> None:
    with Client(traced_app()) as client:
        assert client.http.get("/ping").json_body == {"ok": "yes"}
        client.lambda_.invoke("work", client.events.generate_sqs_event(queue_name="q", message_bodies=["x"]))
    assert provider.names() == ["## handler", "## handler"]
    first, second = (segment.annotations for segment in provider.segments)
    assert first == {"ColdStart": True, "Service": "surge"}
    assert second["ColdStart"] is False


def test_the_payment_worker_traces_its_service_call(provider: FakeProvider) -> None:
    ledger = FakePaymentLedger()
    fake = SimpleNamespace(payments=service(ledger), metrics=Metrics(FakeMetricStore(), emf=False))
    bootstrap.use(cast(bootstrap.Surge, fake))
    try:
        answer = store_payments({"Records": [record("m1", payment(1))]}, None)  # as Lambda calls it
    finally:
        bootstrap.use(None)
    assert answer == {"batchItemFailures": []}
    assert provider.names() == ["## functions.payments.service.PaymentService.store_batch"]


def test_locally_nothing_is_traced_and_the_xray_sdk_is_not_imported() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT")}
    code = (
        "import sys, app; from functions.telemetry import tracing; "
        "print(tracing.tracer() is None, tracing.traced(print) is print, "
        "len(app.app.middleware_handlers), 'aws_xray_sdk' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "2", "False"]


@pytest.mark.parametrize(("disabled", "expected"), [("0", ["True", "3"]), ("1", ["False", "2"])])
def test_on_lambda_the_tracer_is_on_unless_disabled(disabled: str, expected: list[str]) -> None:
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "surge-api", "LAMBDA_TASK_ROOT": "/var/task"}
    env["POWERTOOLS_TRACE_DISABLED"] = disabled
    code = "import app; from functions.telemetry.tracing import tracer; "
    code += "print(tracer() is not None, len(app.app.middleware_handlers))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == expected  # the API's middlewares: the tracing one first
