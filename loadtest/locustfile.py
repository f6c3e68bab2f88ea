"""Surge under a surge: Locust scenarios, chosen by tags.

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8000 --tags payments   # seed 000: queued path
    locust -f loadtest/locustfile.py --tags direct       # comparison: MySQL INSERT inside the request
    locust -f loadtest/locustfile.py --tags flash_sale   # seed 002: 97 % hunt product 100
    locust -f loadtest/locustfile.py --tags statistics   # GET /statistics every 5 s (add to any run)

Tags (the seeds switched strategies the same way):

- ``payments``   ``POST /payment`` — validate, Redis, SQS, 202 (the product path).
- ``direct``     ``POST /payment/direct`` — validate, INSERT + COMMIT in MySQL, 201. A
  comparison path only (what the seeds' Laravel "direct" endpoint did).
- ``flash_sale`` ``POST /checkout`` — ``HunterUser`` (weight 97) buys product 100,
  ``RegularUser`` (weight 3) buys random catalogue products. 409 ``out_of_stock`` is
  an expected answer, not a failure.
- ``statistics`` ``GET /statistics`` every 5 s by one user (``fixed_count``).

Knobs (environment): ``SURGE_RATE`` requests/s per user (default 1; the seed-002 profile
sets 0.1), ``SURGE_STRING_AMOUNTS`` share of payments sending the amount as a JSON
string like seed 000's clients did (default 0.3), ``SURGE_REGULAR_PRODUCTS`` the product
ids regular customers buy (``first-last``, default ``1001-2000`` as ``./surge catalogue
load`` makes them), ``SURGE_HOT_PRODUCT`` (default 100), ``SURGE_IDS_DIR`` where every
accepted id is written (one file per Locust process: ``ids-<pid>.txt``, lines ``<kind> <id>``) for the audit.
"""

from __future__ import annotations

import atexit
import json
import os
import random
from pathlib import Path
from typing import IO, Any

from locust import FastHttpUser, constant, constant_throughput, events, tag, task

RATE = float(os.environ.get("SURGE_RATE", "1"))
STRING_AMOUNTS = float(os.environ.get("SURGE_STRING_AMOUNTS", "0.3"))
HOT_PRODUCT = int(os.environ.get("SURGE_HOT_PRODUCT", "100"))
_first, _, _last = os.environ.get("SURGE_REGULAR_PRODUCTS", "1001-2000").partition("-")
REGULAR_PRODUCTS = range(int(_first), int(_last or _first) + 1)
JSON_HEADERS = {"Content-Type": "application/json"}


class AcceptedIds:
    """Every id the system accepted (201/202), appended to ``ids-<pid>.txt``.

    One file per Locust process, so ``--processes N`` never interleaves writes.
    """

    def __init__(self, directory: str | None):
        self._file: IO[str] | None = None
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self._file = open(Path(directory) / f"ids-{os.getpid()}.txt", "a", buffering=1 << 16)  # noqa: SIM115
            atexit.register(self.flush)

    def add(self, kind: str, accepted_id: str) -> None:
        if self._file is not None:
            self._file.write(f"{kind} {accepted_id}\n")

    def flush(self, **_: Any) -> None:
        if self._file is not None and not self._file.closed:
            self._file.flush()


@events.init.add_listener
def _only_users_with_tasks(environment: Any, **_: Any) -> None:
    """``--tags`` leaves some user classes without tasks; Locust would still start them."""
    environment._filter_tasks_by_tags()
    environment.user_classes[:] = [u for u in environment.user_classes if u.tasks]


ACCEPTED = AcceptedIds(os.environ.get("SURGE_IDS_DIR"))
events.test_stop.add_listener(ACCEPTED.flush)
events.quitting.add_listener(ACCEPTED.flush)


def payment_body() -> bytes:
    """An amount between 0.01 and 500.00; sometimes as a string (``"12.50"``), like seed 000."""
    cents = random.randint(1, 50_000)
    amount = f"{cents // 100}.{cents % 100:02d}"
    if random.random() < STRING_AMOUNTS:
        amount = f'"{amount}"'
    # written as text: a JSON number like 12.50 goes out exactly, never through a float
    return f'{{"amount": {amount}, "currency": "EUR"}}'.encode()


def checkout_body(product_id: int, quantity: int) -> bytes:
    n = random.randint(1, 10**9)
    return json.dumps(
        {
            "items": [{"product_id": product_id, "quantity": quantity}],
            "delivery": {
                "address": f"{n} Surge Street",
                "phone": f"+3161{n % 10**7:07d}",
                "email": f"b{n}@example.com",
            },
        }
    ).encode()


def expect(response: Any, accepted: int, kind: str, id_field: str) -> None:
    """``accepted`` is success (id recorded); 409 out_of_stock is success; anything else fails."""
    if response.status_code == accepted:
        try:
            ACCEPTED.add(kind, response.json()[id_field])
        except (ValueError, KeyError, TypeError):
            response.failure(f"{accepted} without an {id_field}")
            return
        response.success()
    elif response.status_code == 409 and b"out_of_stock" in (response.content or b""):
        response.success()
    else:
        response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")


class PaymentUser(FastHttpUser):
    """Seed 000's JMeter plan: each user pays again and again."""

    wait_time = constant_throughput(RATE)

    @tag("payments", "async")
    @task
    def pay(self) -> None:
        with self.client.post("/payment", data=payment_body(), headers=JSON_HEADERS, catch_response=True) as r:
            expect(r, 202, "payment", "id")

    @tag("direct")
    @task
    def pay_directly(self) -> None:
        with self.client.post("/payment/direct", data=payment_body(), headers=JSON_HEADERS, catch_response=True) as r:
            expect(r, 201, "payment", "id")


class HunterUser(FastHttpUser):
    """Seed 002: 97 % of the buyers want the one hot product."""

    weight = 97
    wait_time = constant_throughput(RATE)

    @tag("flash_sale")
    @task
    def hunt(self) -> None:
        with self.client.post(
            "/checkout", data=checkout_body(HOT_PRODUCT, 1), headers=JSON_HEADERS, catch_response=True,
            name="/checkout [hot]",
        ) as r:  # fmt: skip
            expect(r, 202, "order", "order_id")


class RegularUser(FastHttpUser):
    """Seed 002: the other 3 % shop the rest of the catalogue."""

    weight = 3
    wait_time = constant_throughput(RATE)

    @tag("flash_sale")
    @task
    def shop(self) -> None:
        product = random.choice(REGULAR_PRODUCTS)
        with self.client.post(
            "/checkout", data=checkout_body(product, random.randint(1, 2)), headers=JSON_HEADERS,
            catch_response=True, name="/checkout [regular]",
        ) as r:  # fmt: skip
            expect(r, 202, "order", "order_id")


class StatisticsUser(FastHttpUser):
    """A dashboard: the live statistics every 5 seconds, whatever the load."""

    fixed_count = 1
    wait_time = constant(5)

    @tag("statistics")
    @task
    def poll(self) -> None:
        with self.client.get("/statistics", catch_response=True) as r:
            if r.status_code == 200:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")
