"""A poison message goes to the DLQ after N receives; once the cause is fixed the redrive
(CLI and admin route, both needing the admin key) replays it, and it lands exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from functions.runtime.emulator import REPO
from tests.faults.world import World
from tests.support import http, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POISON = "13.13"


def cli(w: World, *args: str, admin_key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in w.env.items() if k != "ADMIN_KEY"}
    env.update({"MYSQL_URL": w.settings.mysql_url, "SQS_ENDPOINT_URL": w.settings.sqs_endpoint_url or ""})
    if admin_key is not None:
        env["ADMIN_KEY"] = admin_key
    return subprocess.run(
        [sys.executable, "-m", "functions.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_a_poison_message_is_dead_lettered_then_redriven_once_fixed(world: Callable[..., World]) -> None:
    w = world(VISIBILITY_TIMEOUT="2", MAX_RECEIVE_COUNT="3")
    # the cause: a rule in MySQL that these payments break (think: a bad migration)
    w.sql(f"ALTER TABLE payments ADD CONSTRAINT poison_amount CHECK (amount <> {POISON})")
    # the poison travels with good payments: they share its batches but must not share its fate
    sent = [w.pay(amount) for amount in ("1.00", POISON, "2.00", POISON, "3.00")]
    poisoned = {a.payment_id for a in sent if a.body["amount"] == POISON}
    healthy = {a.payment_id for a in sent} - poisoned
    assert {a.status for a in sent} == {202} and len(poisoned) == 2

    wait_until(lambda: w.depth("payments-dlq") == 2, 40, 0.25, "both poison messages in the DLQ")
    assert w.depth() == 0 and set(w.mysql_ids()) == healthy

    admin_key = w.settings.admin_key
    redrive = f"{w.base}/admin/dlq/payments/redrive"
    assert http("POST", redrive)[0] == 401
    assert http("POST", redrive, headers={"X-Admin-Key": "guess"})[0] == 403
    refused = cli(w, "dlq", "redrive", admin_key=None)
    assert refused.returncode == 3 and "refused" in refused.stderr
    assert cli(w, "dlq", "redrive", "--admin-key", "guess", admin_key=admin_key).returncode == 3
    assert w.depth("payments-dlq") == 2  # nothing refused moved anything

    w.sql("ALTER TABLE payments DROP CONSTRAINT poison_amount")  # the fix
    moved = cli(w, "dlq", "redrive", "--limit", "1", admin_key=admin_key)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout) == {"redriven": 1}
    status, _, body = http("POST", redrive, headers={"X-Admin-Key": admin_key})
    assert (status, body["redriven"]) == (200, 1)

    stored = w.wait_stored(5, timeout=30)
    assert sorted(stored) == sorted(poisoned | healthy)
    assert w.depth("payments-dlq") == 0
