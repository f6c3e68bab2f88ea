"""One payment MySQL refuses must not fail its batch: its neighbours are stored, it alone
comes back (and reaches the DLQ after N receives). A MySQL outage still fails them all."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pymysql
import pytest

from functions.errors import DependencyDown
from functions.payments.model import Payment
from functions.payments.service import store_batch
from functions.workers.batch import batch_response
from tests.support import mysql_count


def message(amount_cents: int, n: int) -> tuple[str, str]:
    from functions.ids import new_id

    payment = Payment(id=new_id(), amount_cents=amount_cents, currency="EUR", accepted_ms=1_700_000_000_000 + n)
    return f"m{n}", payment.to_message()


@pytest.fixture
def poison_rule(surge_app: Any) -> Iterator[None]:
    """A MySQL rule that amount 13.13 breaks (think: a bad migration), removed afterwards."""
    with surge_app.db.transaction() as cur:
        cur.execute("ALTER TABLE payments ADD CONSTRAINT poison_amount CHECK (amount <> 13.13)")
    yield
    with surge_app.db.transaction() as cur:
        cur.execute("ALTER TABLE payments DROP CONSTRAINT poison_amount")


def test_a_refused_payment_fails_alone_and_its_batch_is_stored(surge_app: Any, poison_rule: None) -> None:
    batch = [message(100, 0), message(1313, 1), message(200, 2), message(300, 3)]
    result = batch_response(surge_app.payments.store_batch(batch))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert mysql_count(surge_app.settings, "payments") == 3


class DownLedger:
    def __init__(self) -> None:
        self.calls = 0

    def store(self, payments: Sequence[Payment]) -> int:
        self.calls += 1
        raise DependencyDown("mysql", pymysql.err.OperationalError(2003, "Can't connect"))


def test_an_outage_fails_the_whole_batch_without_trying_each_payment() -> None:
    ledger = DownLedger()
    result = batch_response(store_batch(ledger, [message(100, n) for n in range(5)]))  # type: ignore[arg-type]
    assert len(result["batchItemFailures"]) == 5
    assert ledger.calls == 1
