"""RedisPaymentCounters, the adapter itself, against a real Redis: the in-flight marker, the
minute hash with its per-second fields, TTLs, the window's span limit, the whole minutes
reconcile compares, and a minute overwritten from MySQL. Only Redis: no MySQL, no queues."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.adapters.redis_client import connect
from functions.adapters.redis_payments import RedisPaymentCounters
from functions.errors import DependencyDown
from functions.ids import new_id
from functions.payments.model import Payment
from functions.runtime.emulator import free_port
from functions.statistics.model import Aggregate, SecondBucket
from tests.support import redis_commands, redis_namespace

MINUTE = 29_453_780  # epoch minutes
MARKER_TTL = 3_600
WINDOW_S = 1_200


@pytest.fixture
def redis(settings: Any) -> Iterator[tuple[Any, str]]:
    with redis_namespace(settings, "payments-adapter") as namespace:
        yield namespace


@pytest.fixture
def counters(redis: tuple[Any, str]) -> RedisPaymentCounters:
    client, prefix = redis
    return RedisPaymentCounters(client, prefix, marker_ttl=MARKER_TTL, window_seconds=WINDOW_S)


def payment(second_of_minute: int, cents: int, currency: str = "EUR", minute: int = MINUTE) -> Payment:
    accepted_ms = (minute * 60 + second_of_minute) * 1000 + 789
    return Payment(new_id(accepted_ms), cents, currency, accepted_ms)


def test_a_recorded_payment_has_its_marker_its_second_and_its_metrics(
    counters: RedisPaymentCounters, redis: tuple[Any, str]
) -> None:
    client, prefix = redis
    first, second = payment(7, 500), payment(7, 200)
    counters.record(first, {"surge_payments_accepted_total": 1, "latency_sum": 0.0000125})
    counters.record(second)
    assert counters.marker(first.id) == {
        "status": "accepted",
        "amount_cents": "500",
        "currency": "EUR",
        "accepted_ms": str(first.accepted_ms),
    }
    assert MARKER_TTL - 5 < client.ttl(f"{prefix}pay:{first.id}") <= MARKER_TTL
    minute = f"{prefix}stats:pay:EUR:{MINUTE}"
    assert client.hgetall(minute) == {
        **{"c:7": "2", "s:7": "700", "mn:7": "200", "mx:7": "500"},
        **{"c": "2", "s": "700", "mn": "200", "mx": "500"},
    }
    assert (WINDOW_S + 299) * 1000 < client.pttl(minute) <= (WINDOW_S + 300) * 1000
    metrics = client.hgetall(counters._metrics_key)
    assert float(metrics["surge_payments_accepted_total"]) == 1 and float(metrics["latency_sum"]) == 0.000013
    assert counters.marker(new_id()) is None


def test_a_batch_is_recorded_in_one_call_as_each_payment_alone_would_be(
    counters: RedisPaymentCounters, redis: tuple[Any, str]
) -> None:
    client, prefix = redis
    batch = [payment(7, 500), payment(7, 200), payment(59, 300, "USD"), payment(0, 900, minute=MINUTE + 1)]
    counters.record_many([])  # the script loaded beforehand
    calls = redis_commands(
        client, lambda: counters.record_many(batch, {"surge_payments_accepted_total": 4}), batch[0].id
    )
    assert calls == ["EVALSHA"], "one round trip for the whole batch"
    for p in batch:
        assert counters.marker(p.id) == {
            "status": "accepted", "amount_cents": str(p.amount_cents), "currency": p.currency,
            "accepted_ms": str(p.accepted_ms),
        }  # fmt: skip
        assert MARKER_TTL - 5 < client.ttl(f"{prefix}pay:{p.id}") <= MARKER_TTL
    assert client.hgetall(f"{prefix}stats:pay:EUR:{MINUTE}") == {
        **{"c:7": "2", "s:7": "700", "mn:7": "200", "mx:7": "500"},
        **{"c": "2", "s": "700", "mn": "200", "mx": "500"},
    }
    assert client.hgetall(f"{prefix}stats:pay:USD:{MINUTE}") == {
        **{"c:59": "1", "s:59": "300", "mn:59": "300", "mx:59": "300"},
        **{"c": "1", "s": "300", "mn": "300", "mx": "300"},
    }
    later = f"{prefix}stats:pay:EUR:{MINUTE + 1}"
    assert client.hgetall(later) == {
        "c:0": "1",
        "s:0": "900",
        "mn:0": "900",
        "mx:0": "900",
        "c": "1",
        "s": "900",
        "mn": "900",
        "mx": "900",
    }
    assert (WINDOW_S + 299) * 1000 < client.pttl(later) <= (WINDOW_S + 300) * 1000
    assert client.smembers(counters.series_key) == {"EUR", "USD"}
    assert float(client.hgetall(counters._metrics_key)["surge_payments_accepted_total"]) == 4, "counted once"


def test_minute_aggregates_cover_only_the_whole_minutes_of_the_span(counters: RedisPaymentCounters) -> None:
    for minute in (MINUTE - 1, MINUTE, MINUTE + 1):
        counters.record(payment(30, 100, minute=minute))
    start = MINUTE * 60
    assert counters.minute_aggregates(start, start + 59) == {("EUR", MINUTE): Aggregate(1, 100, 100, 100)}
    assert counters.minute_aggregates(start - 1, start + 60) == {("EUR", MINUTE): Aggregate(1, 100, 100, 100)}
    assert set(counters.minute_aggregates(start - 60, start + 119)) == {
        ("EUR", MINUTE - 1),
        ("EUR", MINUTE),
        ("EUR", MINUTE + 1),
    }
    assert counters.minute_aggregates(start + 1, start + 60) == {}  # the minute's first second is outside
    assert counters.minute_aggregates(start, start + 58) == {}  # its last second is outside


def test_a_minute_is_overwritten_from_mysql_or_emptied(counters: RedisPaymentCounters, redis: tuple[Any, str]) -> None:
    client, prefix = redis
    counters.record(payment(7, 999))  # lost from MySQL's point of view: replaced
    start = MINUTE * 60
    counters.replace_seconds(
        "USD",
        MINUTE,
        [
            SecondBucket("USD", start + 3, Aggregate(2, 300, 100, 200)),
            SecondBucket("USD", start + 10, Aggregate()),  # an empty second: zeros, read as no payment
            SecondBucket("USD", start + 59, Aggregate(1, 5, 5, 5)),
        ],
    )
    minute = f"{prefix}stats:pay:USD:{MINUTE}"
    assert client.hgetall(minute) == {
        **{"c:3": "2", "s:3": "300", "mn:3": "100", "mx:3": "200"},
        **{"c:10": "0", "s:10": "0", "mn:10": "0", "mx:10": "0"},
        **{"c:59": "1", "s:59": "5", "mn:59": "5", "mx:59": "5"},
        **{"c": "3", "s": "305", "mn": "5", "mx": "200"},
    }
    assert (WINDOW_S + 299) * 1000 < client.pttl(minute) <= (WINDOW_S + 300) * 1000
    assert client.smembers(counters.series_key) == {"EUR", "USD"}
    counters.replace_seconds("EUR", MINUTE, [])
    assert client.exists(f"{prefix}stats:pay:EUR:{MINUTE}") == 0


def test_every_method_raises_dependency_down_when_redis_is_unreachable() -> None:
    dead = RedisPaymentCounters(connect(f"redis://127.0.0.1:{free_port()}/0"), "x:", MARKER_TTL, WINDOW_S)
    for call in (
        lambda: dead.record(payment(1, 100)),
        lambda: dead.marker(new_id()),
        lambda: dead.minute_aggregates(0, 120),
        lambda: dead.replace_seconds("EUR", MINUTE, []),
    ):
        with pytest.raises(DependencyDown):
            call()


def test_a_minute_is_replaced_inside_one_transaction(counters: RedisPaymentCounters, redis: tuple[Any, str]) -> None:
    """A statistics read must never see a minute half replaced: the delete and the rewrite go
    to Redis between MULTI and EXEC. MONITOR shows what Redis ran, in order, per client."""
    client, prefix = redis
    key = f"{prefix}stats:pay:USD:{MINUTE}"
    marker = f"{prefix}monitor-end"
    seen: list[tuple[int, str]] = []
    with client.monitor() as monitor:
        counters.replace_seconds("USD", MINUTE, [SecondBucket("USD", MINUTE * 60 + 1, Aggregate(1, 5, 5, 5))])
        client.echo(marker)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            command = monitor.next_command()
            seen.append((int(command["client_port"] or 0), str(command["command"])))
            if marker in seen[-1][1]:
                break
    port = next(port for port, command in seen if command.startswith("DEL") and key in command)
    ours = [command.split(" ", 1)[0] for p, command in seen if p == port]
    first = ours.index("DEL")
    assert ours[first - 1] == "MULTI" and "EXEC" in ours[first:]
    assert ours[first:].index("EXEC") > ours[first:].index("HSET")


def test_a_batch_summed_before_writing_keeps_what_the_minute_already_holds(
    counters: RedisPaymentCounters, redis: tuple[Any, str]
) -> None:
    """The script sums a batch per second before writing: the sums add to what is there, and a
    batch's lowest and highest amounts replace the minute's only where they are lower and higher."""
    client, prefix = redis
    counters.record(payment(7, 300))
    counters.record_many([payment(7, 500), payment(7, 400), payment(8, 100)])
    counters.record_many([payment(7, 350), payment(7, 200)])
    assert client.hgetall(f"{prefix}stats:pay:EUR:{MINUTE}") == {
        **{"c:7": "5", "s:7": "1750", "mn:7": "200", "mx:7": "500"},
        **{"c:8": "1", "s:8": "100", "mn:8": "100", "mx:8": "100"},
        **{"c": "6", "s": "1850", "mn": "100", "mx": "500"},
    }
