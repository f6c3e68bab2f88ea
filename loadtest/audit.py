"""After the load: did the system keep every promise it made?

Checks, each a violation when it fails:

- every id the clients were given (201/202) is in MySQL exactly once, and no id was
  handed out twice;
- nothing is left in a dead-letter queue;
- no product is oversold: stock never below zero, MySQL stock + units sold = initial,
  and no order told 202 was rejected later by MySQL's guard;
- ``GET /statistics`` equals MySQL (count and total of payments; orders when present).

Example::

    report = audit(read_accepted(Path("var/loadtest/x/ids")), fetch_statistics, dlq_depths={})
    report.ok        # False when any check failed
    print(report.table())
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from functions.adapters.mysql import MySqlTarget
from functions.config import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class AuditReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def table(self) -> str:
        lines = ["| check | result | detail |", "|---|---|---|"]
        lines += [f"| {c.name} | {'PASS' if c.ok else 'FAIL'} | {c.detail} |" for c in self.checks]
        return "\n".join(lines)


def read_accepted(ids_dir: Path) -> dict[str, list[str]]:
    """``{"payment": [...], "order": [...]}`` from every ``ids-*.txt`` in ``ids_dir``."""
    accepted: dict[str, list[str]] = {}
    for path in sorted(ids_dir.glob("ids-*.txt")):
        for line in path.read_text().splitlines():
            kind, _, accepted_id = line.partition(" ")
            if accepted_id:
                accepted.setdefault(kind, []).append(accepted_id)
    return accepted


def _ids_in(cur: Any, table: str, column: str = "id") -> Counter[str]:
    cur.execute(f"SELECT `{column}` FROM `{table}`")
    return Counter(str(row[0]) for row in cur.fetchall())


def _tables(cur: Any) -> set[str]:
    cur.execute("SHOW TABLES")
    return {str(row[0]) for row in cur.fetchall()}


def _check_ids(report: AuditReport, kind: str, given: list[str], stored: Counter[str]) -> None:
    repeated = [i for i, n in Counter(given).items() if n > 1]
    report.add(f"{kind} ids unique", not repeated, f"{len(given)} accepted; handed out twice: {repeated[:3]}")
    missing = sorted(set(given) - set(stored))
    twice = [i for i, n in stored.items() if n > 1]
    extra = len(set(stored) - set(given))
    report.add(
        f"{kind}s in MySQL exactly once",
        not missing and not twice,
        f"{len(given) - len(missing)}/{len(given)} found; missing {len(missing)} {missing[:3]}; "
        f"stored twice {len(twice)}; unacknowledged rows (client gave up first) {extra}",
    )


def _check_stock(report: AuditReport, cur: Any, initial: dict[int, int]) -> None:
    """Products: never below zero; stock + units of confirmed orders = the catalogue's stock."""
    cur.execute(
        "SELECT p.id, p.stock, COALESCE(SUM(CASE WHEN o.status = 'confirmed' THEN i.quantity END), 0) "
        "FROM products p LEFT JOIN order_items i ON i.product_id = p.id LEFT JOIN orders o ON o.id = i.order_id "
        "GROUP BY p.id, p.stock"
    )
    rows = [(int(pid), int(stock), int(sold)) for pid, stock, sold in cur.fetchall()]
    negative = [pid for pid, stock, _ in rows if stock < 0]
    report.add("no negative stock", not negative, f"{len(rows)} products; below zero: {negative[:3]}")
    oversold = [(pid, sold, initial.get(pid)) for pid, _, sold in rows if sold > initial.get(pid, 0)]
    report.add("no unit oversold", not oversold, f"sold more than the catalogue had: {oversold[:3]}")
    off = [
        (pid, stock + sold - initial.get(pid, 0)) for pid, stock, sold in rows if stock + sold != initial.get(pid, 0)
    ]
    unknown = sorted(set(initial) - {pid for pid, _, _ in rows})
    report.add(
        "stock + sold = initial",
        not off and not unknown,
        f"{len(rows)} products; off by: {off[:3]}; missing from MySQL: {unknown[:3]}",
    )
    hot = max(rows, key=lambda row: row[2], default=None)
    if hot is not None:
        pid, left, sold = hot
        report.add("best seller (info)", True, f"product {pid}: {sold} sold of {initial.get(pid)}, {left} left")
    cur.execute("SELECT COUNT(*) FROM orders WHERE status = 'rejected'")
    rejected = int(cur.fetchone()[0])
    report.add("no 202 order rejected later (Redis gate agreed with MySQL)", rejected == 0, f"{rejected} rejected")


def _check_statistics(report: AuditReport, cur: Any, statistics: dict[str, Any], tables: set[str]) -> None:
    cur.execute("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE currency = 'EUR'")
    count, total = cur.fetchone()
    seen = statistics.get("payments", {})
    same = int(seen.get("count", -1)) == int(count) and Decimal(str(seen.get("total"))) == Decimal(total)
    report.add(
        "statistics = MySQL (payments)",
        same,
        f"statistics {seen.get('count')} / {seen.get('total')}; MySQL {count} / {Decimal(total):.2f}",
    )
    if "orders" not in tables or "orders" not in statistics:
        return
    cur.execute("SELECT COUNT(*), COALESCE(SUM(total), 0) FROM orders WHERE status = 'confirmed' AND currency = 'EUR'")
    count, revenue = cur.fetchone()
    cur.execute(
        "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE o.status = 'confirmed' AND o.currency = 'EUR'"
    )
    units = int(cur.fetchone()[0])
    seen = statistics["orders"]
    same = (int(seen.get("count", -1)), Decimal(str(seen.get("revenue"))), int(seen.get("units", -1))) == (
        int(count),
        Decimal(revenue),
        units,
    )
    report.add(
        "statistics = MySQL (orders)",
        same,
        f"statistics {seen.get('count')} orders / {seen.get('revenue')} / {seen.get('units')} units; "
        f"MySQL {count} / {Decimal(revenue):.2f} / {units}",
    )


def audit(
    accepted: dict[str, list[str]],
    fetch_statistics: Callable[[], dict[str, Any]],
    dlq_depths: dict[str, int],
    settings: Settings | None = None,
    initial_stock: dict[int, int] | None = None,
) -> AuditReport:
    """Run every check against this namespace's MySQL; call after the queues drained.

    ``initial_stock`` (product id -> units loaded) turns on the stock checks.
    """
    settings = settings or Settings.from_env()
    report = AuditReport()
    dead = {q: n for q, n in dlq_depths.items() if n}
    report.add("dead-letter queues empty", not dead, str(dead or "all empty"))
    conn = MySqlTarget.from_url(settings.mysql_url).connect()
    try:
        with conn.cursor() as cur:
            tables = _tables(cur)
            _check_ids(report, "payment", accepted.get("payment", []), _ids_in(cur, "payments"))
            if "orders" in tables:
                _check_ids(report, "order", accepted.get("order", []), _ids_in(cur, "orders"))
            if initial_stock is not None:
                _check_stock(report, cur, initial_stock)
            _check_statistics(report, cur, fetch_statistics(), tables)
    finally:
        conn.close()
    return report
