"""One payment MySQL refuses must not fail its batch: its neighbours are stored, it alone
comes back (and reaches the DLQ after N receives). A MySQL outage still fails them all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.payments.model import Payment
from functions.payments.service import store_batch
from functions.workers.batch import batch_response
from tests.fakes import FakePaymentLedger
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


def test_an_outage_fails_the_whole_batch_without_trying_each_payment() -> None:
    ledger = FakePaymentLedger()
    ledger.down = True
    result = batch_response(store_batch(ledger, [message(100, n) for n in range(5)]))
    assert len(result["batchItemFailures"]) == 5
    assert len(ledger.batches) == 1
