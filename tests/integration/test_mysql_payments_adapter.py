"""MySqlPaymentLedger, the adapter itself, against a real MariaDB: a batch is stored once
however often it comes, amounts exactly, and the per-second read covers its whole span,
both end seconds included and nothing past them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from functions.adapters.mysql_payments import MySqlPaymentLedger
from functions.ids import new_id
from functions.payments.model import Payment
from functions.statistics.model import Aggregate, SecondBucket

SECOND = 1_767_226_831  # odd: a bound computed with ^ 1 instead of + 1 would fall a second short


@pytest.fixture
def ledger(surge_app: Any) -> MySqlPaymentLedger:
    return MySqlPaymentLedger(surge_app.db)


def payment(second: int, cents: int, currency: str = "EUR", ms: int = 0) -> Payment:
    accepted_ms = second * 1000 + ms
    return Payment(new_id(accepted_ms), cents, currency, accepted_ms, "r-1", None)


def test_a_batch_is_stored_once_however_often_it_comes(ledger: MySqlPaymentLedger) -> None:
    batch = [payment(SECOND, 1), payment(SECOND, 99_999_999)]
    assert ledger.store([]) == 0
    assert ledger.store(batch) == 2
    assert ledger.store(batch) == 0
    assert ledger.store([*batch, payment(SECOND, 5)]) == 1


def test_a_stored_payment_is_read_back_exactly(ledger: MySqlPaymentLedger) -> None:
    stored = payment(SECOND, 1_234_567, "USD", ms=456)
    ledger.store([stored])
    back = ledger.get(stored.id)
    assert back is not None
    assert (back.id, back.amount_cents, back.currency) == (stored.id, 1_234_567, "USD")
    assert back.accepted_at == datetime(2026, 1, 1, 0, 20, 31, 456_000)
    assert ledger.get(new_id()) is None


def test_the_seconds_read_includes_both_end_seconds_and_nothing_past_them(ledger: MySqlPaymentLedger) -> None:
    ledger.store([
        payment(SECOND - 2, 7),  # before the span
        payment(SECOND - 1, 100, ms=0),
        payment(SECOND - 1, 250, ms=999),
        payment(SECOND, 1, "USD", ms=999),
        payment(SECOND + 1, 9),  # after it
    ])  # fmt: skip
    assert sorted(ledger.seconds(SECOND - 1, SECOND), key=lambda b: b.second) == [
        SecondBucket("EUR", SECOND - 1, Aggregate(2, 350, 100, 250)),
        SecondBucket("USD", SECOND, Aggregate(1, 1, 1, 1)),
    ]
    assert ledger.seconds(SECOND + 1, SECOND + 1) == [SecondBucket("EUR", SECOND + 1, Aggregate(1, 9, 9, 9))]
