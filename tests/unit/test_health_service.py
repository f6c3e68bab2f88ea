"""HealthService on fakes: every dependency is probed; one down makes the whole degraded and
names the cause, never the message (it may hold addresses)."""

from __future__ import annotations

from functions.healthcheck import HealthService
from tests.fakes import FakeKeyspace, FakeQueue, FakeTables


def test_all_up_is_ok_with_a_latency_for_each() -> None:
    healthy, body = HealthService(
        {"redis": FakeKeyspace().ping, "sqs": lambda: FakeQueue().depth("q"), "mysql": FakeTables().ping}
    ).check()
    assert healthy and body["status"] == "ok"
    assert {name: dep["status"] for name, dep in body["dependencies"].items()} == {
        "redis": "up",
        "sqs": "up",
        "mysql": "up",
    }
    assert all(dep["latency_ms"] >= 0 for dep in body["dependencies"].values())


def test_one_down_is_degraded_and_names_the_cause_of_the_failure() -> None:
    tables = FakeTables()
    tables.down = True

    def broken() -> None:
        raise ValueError("not a dependency error")

    healthy, body = HealthService({"redis": FakeKeyspace().ping, "mysql": tables.ping, "other": broken}).check()
    assert not healthy and body["status"] == "degraded"
    assert body["dependencies"]["redis"]["status"] == "up"
    assert {k: v for k, v in body["dependencies"]["mysql"].items() if k != "latency_ms"} == {
        "status": "down",
        "error": "ConnectionError",
    }
    assert body["dependencies"]["other"]["error"] == "ValueError"
