"""Surge under a surge: Locust scenarios, one User class per route, chosen by tags.

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8000            # payments + statistics (web UI)
    locust --config loadtest/profiles/flash-sale.conf --host http://127.0.0.1:8000  # a profile, headless
    locust -f loadtest/locustfile.py --tags direct       # comparison: MySQL INSERT inside the request
    locust -f loadtest/locustfile.py --tags flash_sale   # 97 % hunt product 100 (load the catalogue first)

Tags select the User classes (without ``--tags``: ``payments`` and ``statistics``):

- ``payments``   ``PaymentUser``: ``POST /payment`` — validate, Redis, SQS, 202 (the product path).
- ``direct``     ``DirectPaymentUser``: ``POST /payment/direct`` — validate, INSERT + COMMIT in
  MySQL, 201. A comparison path only, for stacks that enable it.
- ``flash_sale`` ``HunterUser`` (weight 97) buys product 100, ``RegularUser`` (weight 3) buys
  random catalogue products. 409 ``out_of_stock`` is an expected answer, not a failure. They
  start only when the catalogue is loaded (``./surge catalogue load``), else say so and stop.
- ``statistics`` ``StatisticsUser``: ``GET /statistics`` every 5 s by one user (``fixed_count``).

Custom arguments (command line, ``locust.conf`` profiles in ``loadtest/profiles/``, and the web
UI's "Custom parameters"): ``--surge-rate`` requests/s per user (default 1), ``--string-amounts``
share of payments sending the amount as a JSON string (default 0.3), ``--hot-product`` (default
100), ``--regular-products`` ids regular customers buy (``first-last``, default ``1001-2000`` as
``./surge catalogue load`` makes them), ``--ids-dir`` where every accepted id is written (one file
per Locust process: ``ids-<pid>.txt``, lines ``<kind> <id>``) for the audit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import random
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any, ClassVar

import gevent
from locust import FastHttpUser, constant, constant_throughput, events, tag, task
from locust.exception import StopUser

JSON_HEADERS = {"Content-Type": "application/json"}
DEFAULT_TAGS = {"payments", "statistics"}


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    # on the parser itself (not a group): only its add_argument knows include_in_web_ui
    parser.add_argument("--surge-rate", type=float, default=1.0, help="requests per second of each user")
    parser.add_argument(
        "--string-amounts", type=float, default=0.3, help='share of payments sending the amount as a string ("12.50")'
    )
    parser.add_argument("--hot-product", type=int, default=100, help="the product hunters buy")
    parser.add_argument("--regular-products", default="1001-2000", help="ids regular customers buy: first-last")
    parser.add_argument(
        "--ids-dir", default="", include_in_web_ui=False, help="write every accepted id here (for the audit)"
    )


def options(environment: Any) -> Any:
    return environment.parsed_options


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


ACCEPTED = AcceptedIds(None)


@events.init.add_listener
def _select_users(environment: Any, **_: Any) -> None:
    """Each User class has its tags; run those ``--tags`` select (or the default ones), so a
    class without a selected route never starts. User classes named on the command line win."""
    global ACCEPTED
    parsed = options(environment)
    if parsed is None:
        return
    ACCEPTED = AcceptedIds(parsed.ids_dir or None)
    if parsed.user_classes:
        return
    wanted = set(parsed.tags or []) or DEFAULT_TAGS
    excluded = set(parsed.exclude_tags or [])
    environment.user_classes[:] = [
        u for u in environment.user_classes if getattr(u, "surge_tags", set()) & wanted - excluded
    ]


@events.test_stop.add_listener
@events.quitting.add_listener
def _flush(**_: Any) -> None:
    ACCEPTED.flush()


CATALOGUE: dict[str, bool] = {}


@events.test_start.add_listener
def _check_catalogue(environment: Any, **_: Any) -> None:
    """Buyers of a catalogue nobody loaded would only collect 404s: say so once, and stop them."""
    if not any(getattr(u, "needs_catalogue", False) for u in environment.user_classes) or not environment.host:
        return
    hot = options(environment).hot_product
    try:
        with urllib.request.urlopen(f"{environment.host}/products/{hot}", timeout=10):
            CATALOGUE["ready"] = True
            return
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            return  # the stack will answer the users itself
    except OSError:
        return
    CATALOGUE["ready"] = False
    logging.error(
        "product %s is not in the catalogue of %s: load it first (./surge catalogue load, with ADMIN_KEY); "
        "the flash-sale users stop",
        hot,
        environment.host,
    )
    if options(environment).headless and environment.runner is not None:
        environment.process_exit_code = 2  # a run that could not happen, not one with failed requests
        gevent.spawn_later(0.5, environment.runner.quit)


def payment_body(string_share: float) -> bytes:
    """An amount between 0.01 and 500.00; a ``string_share`` of them as a string (``"12.50"``)."""
    cents = random.randint(1, 50_000)
    amount = f"{cents // 100}.{cents % 100:02d}"
    if random.random() < string_share:
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


class SurgeUser(FastHttpUser):
    """A client at ``--surge-rate`` requests per second (constant throughput)."""

    abstract = True
    surge_tags: ClassVar[set[str]] = set()
    needs_catalogue = False

    def wait_time(self) -> float:
        return constant_throughput(options(self.environment).surge_rate)(self)

    def stop_without_catalogue(self) -> None:
        """Raised from a task (where Locust takes StopUser quietly), once the check said no."""
        if CATALOGUE.get("ready") is False:
            raise StopUser()


class PaymentUser(SurgeUser):
    """Each user pays again and again."""

    surge_tags: ClassVar[set[str]] = {"payments", "async"}

    @tag("payments", "async")
    @task
    def pay(self) -> None:
        body = payment_body(options(self.environment).string_amounts)
        with self.client.post("/payment", data=body, headers=JSON_HEADERS, catch_response=True) as r:
            expect(r, 202, "payment", "id")


class DirectPaymentUser(SurgeUser):
    """The comparison path: the payment stored in MySQL inside the request (``/payment/direct``)."""

    surge_tags: ClassVar[set[str]] = {"direct"}

    @tag("direct")
    @task
    def pay_directly(self) -> None:
        body = payment_body(options(self.environment).string_amounts)
        with self.client.post("/payment/direct", data=body, headers=JSON_HEADERS, catch_response=True) as r:
            expect(r, 201, "payment", "id")


class HunterUser(SurgeUser):
    """97 % of the buyers want the one hot product."""

    weight = 97
    surge_tags: ClassVar[set[str]] = {"flash_sale"}
    needs_catalogue = True

    @tag("flash_sale")
    @task
    def hunt(self) -> None:
        self.stop_without_catalogue()
        with self.client.post(
            "/checkout", data=checkout_body(options(self.environment).hot_product, 1), headers=JSON_HEADERS,
            catch_response=True, name="/checkout [hot]",
        ) as r:  # fmt: skip
            expect(r, 202, "order", "order_id")


class RegularUser(SurgeUser):
    """The other 3 % shop the rest of the catalogue."""

    weight = 3
    surge_tags: ClassVar[set[str]] = {"flash_sale"}
    needs_catalogue = True

    @tag("flash_sale")
    @task
    def shop(self) -> None:
        self.stop_without_catalogue()
        first, _, last = options(self.environment).regular_products.partition("-")
        product = random.randint(int(first), int(last or first))
        with self.client.post(
            "/checkout", data=checkout_body(product, random.randint(1, 2)), headers=JSON_HEADERS,
            catch_response=True, name="/checkout [regular]",
        ) as r:  # fmt: skip
            expect(r, 202, "order", "order_id")


class StatisticsUser(SurgeUser):
    """A dashboard: the live statistics every 5 seconds, whatever the load."""

    fixed_count = 1
    wait_time = constant(5)
    surge_tags: ClassVar[set[str]] = {"statistics"}

    @tag("statistics")
    @task
    def poll(self) -> None:
        with self.client.get("/statistics", catch_response=True) as r:
            if r.status_code == 200:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")
