"""The load runner and its audit: the smoke profile passes, and the audit can fail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functions.ids import new_id
from functions.payments.model import Payment
from loadtest.audit import audit, read_accepted

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "kind"), [("smoke", "payment"), ("smoke-flash", "order")])
def test_smoke_profile_runs_drains_audits_and_reports(prepared, tmp_path: Path, profile: str, kind: str) -> None:
    """``./surge load smoke`` on this run's own database, Redis prefix and queues."""
    out = tmp_path / profile
    result = subprocess.run(
        [sys.executable, "-m", "loadtest.run", profile, "--use-env", "--out", str(out)],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "AUDIT PASSED" in result.stdout
    accepted = read_accepted(out / "ids")
    assert len(accepted[kind]) > 100  # the load really happened
    for name in ("summary.md", "locust.html", "locust_stats.csv", "locust_stats_history.csv", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    summary = (out / "summary.md").read_text()
    assert f"| {kind}s in MySQL exactly once | PASS |" in summary
    assert "| statistics = MySQL (payments) | PASS |" in summary
    if kind == "order":
        assert "| stock + sold = initial | PASS |" in summary
        assert "| statistics = MySQL (orders) | PASS |" in summary


def _payment(amount_cents: int) -> Payment:
    now_ms = int(time.time() * 1000)
    return Payment(new_id(now_ms), amount_cents, "EUR", now_ms)


def test_audit_fails_when_an_accepted_payment_is_missing_from_mysql(surge_app) -> None:
    stored, lost = _payment(1250), _payment(990)
    for payment in (stored, lost):
        surge_app.counters.record(payment)
    surge_app.ledger.store([stored])

    def statistics() -> dict:
        return surge_app.statistics.snapshot(1200, "EUR")

    report = audit({"payment": [stored.id, lost.id]}, statistics, {}, surge_app.settings)

    assert not report.ok
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert "payments in MySQL exactly once" in failed
    assert lost.id in failed["payments in MySQL exactly once"]
    assert "statistics = MySQL (payments)" in failed  # Redis counted 2, MySQL holds 1

    surge_app.ledger.store([lost])  # the same audit passes once the payment is there
    assert audit({"payment": [stored.id, lost.id]}, statistics, {}, surge_app.settings).ok


def test_audit_fails_on_dead_letters_and_ids_handed_out_twice(surge_app) -> None:
    payment = _payment(500)
    surge_app.ledger.store([payment])
    surge_app.counters.record(payment)

    report = audit(
        {"payment": [payment.id, payment.id]},
        lambda: surge_app.statistics.snapshot(1200, "EUR"),
        {"surge-x-payments-dlq": 1},
        surge_app.settings,
    )

    failed = {c.name for c in report.checks if not c.ok}
    assert failed == {"dead-letter queues empty", "payment ids unique"}


def test_read_accepted_collects_every_worker_file(tmp_path: Path) -> None:
    (tmp_path / "ids-1.txt").write_text("payment A\norder B\n")
    (tmp_path / "ids-2.txt").write_text("payment C\n")
    assert read_accepted(tmp_path) == {"payment": ["A", "C"], "order": ["B"]}


def _locust(*args: str) -> subprocess.CompletedProcess[str]:
    locust = str(Path(sys.executable).with_name("locust"))
    return subprocess.run(
        [locust, *args, "--headless", "--only-summary", "--loglevel", "INFO"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_flash_sale_users_stop_with_a_clear_message_without_the_catalogue(stack: str) -> None:
    result = _locust(
        "--config", "loadtest/profiles/smoke-flash.conf", "--host", stack, "--run-time", "5s", "--users", "3",
        "--hot-product", "987654",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "product 987654 is not in the catalogue" in result.stderr and "./surge catalogue load" in result.stderr
    assert "POST     /checkout" not in result.stdout + result.stderr, "no buyer sent a request"


def test_tags_pick_the_user_classes_and_custom_arguments_reach_them(stack: str, tmp_path: Path) -> None:
    """Without --tags: payments and statistics only (never /payment/direct); the rate and the
    ids directory come from Locust custom arguments, not environment variables."""
    result = _locust(
        "-f", "loadtest/locustfile.py", "--host", stack, "--run-time", "4s", "--users", "3", "--spawn-rate", "3",
        "--surge-rate", "4", "--ids-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    spawned = next(line for line in result.stderr.splitlines() if "All users spawned" in line)
    assert '"PaymentUser": 2' in spawned and '"StatisticsUser": 1' in spawned
    assert "DirectPaymentUser" not in spawned and "HunterUser" not in spawned
    payments = len(read_accepted(tmp_path)["payment"])
    assert 8 <= payments <= 40, f"2 users x 4/s x ~4 s, got {payments}"


def test_the_locustfile_uses_no_private_locust_api() -> None:
    text = (REPO / "loadtest" / "locustfile.py").read_text()
    assert "environment._" not in text and "._filter" not in text
