"""Payments at rest: one multi-row, idempotent insert per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from functions.adapters.mysql import MySqlConnections, placeholders
from functions.payments.model import Payment, StoredPayment
from functions.statistics.model import Aggregate, SecondBucket


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


def _cents(value: Decimal) -> int:
    return int(value * 100)


class MySqlPaymentLedger:
    def __init__(self, db: MySqlConnections):
        self._db = db

    def store(self, payments: Sequence[Payment]) -> int:
        if not payments:
            return 0
        rows = [
            (p.id, Decimal(p.amount_cents) / 100, p.currency, _utc(p.accepted_ms), p.request_id, p.idempotency_key)
            for p in payments
        ]
        row_placeholders = placeholders(len(rows), "(%s,%s,%s,%s,%s,%s)")
        with self._db.transaction() as cur:
            # a redelivered message hits the primary key and changes nothing
            inserted = cur.execute(
                "INSERT INTO payments (id, amount, currency, accepted_at, request_id, idempotency_key) "
                f"VALUES {row_placeholders} ON DUPLICATE KEY UPDATE id = id",
                [value for row in rows for value in row],
            )
        return int(inserted)

    def get(self, payment_id: str) -> StoredPayment | None:
        with self._db.transaction() as cur:
            cur.execute(
                "SELECT id, amount, currency, accepted_at, stored_at FROM payments WHERE id = %s",
                (payment_id,),
            )
            row = cur.fetchone()
        if row is None:
            return None
        pid, amount, currency, accepted_at, stored_at = row
        return StoredPayment(pid, int(amount * 100), currency, accepted_at, stored_at)

    def seconds(self, first_second: int, last_second: int) -> list[SecondBucket]:
        with self._db.transaction() as cur:
            cur.execute(
                "SELECT currency, FLOOR(UNIX_TIMESTAMP(accepted_at)) AS sec, COUNT(*), SUM(amount), "
                "MIN(amount), MAX(amount) FROM payments "
                "WHERE accepted_at >= FROM_UNIXTIME(%s) AND accepted_at < FROM_UNIXTIME(%s) "
                "GROUP BY currency, sec",
                (first_second, last_second + 1),
            )
            rows = cur.fetchall()
        return [
            SecondBucket(cur_, int(sec), Aggregate(int(n), _cents(total), _cents(low), _cents(high)))
            for cur_, sec, n, total, low, high in rows
        ]
