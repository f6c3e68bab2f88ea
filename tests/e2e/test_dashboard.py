"""The dashboard in a real headless Chromium against the real local stack.

Loads ``/``, posts payments over a few seconds, and checks the page shows exactly the
count, total, min and max that were posted (with thousands separators), the per-second
chart of the chosen currency with values under the cursor, the charts fed by ``/metrics``,
the queues with their DLQ and every dependency up; then saves ``var/dashboard.png``
(``docs/`` with UPDATE_SCREENSHOTS=1).

Needs Debian's ``chromium`` (``infra/ci/install-system-tools.sh``) and ``playwright`` (PyPI);
skips with the reason when either is missing.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support import http, wait_until

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.e2e

# CI writes to var/ so a run leaves the tree clean; UPDATE_SCREENSHOTS=1 refreshes docs/.
_REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = _REPO / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "var") / "dashboard.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run infra/ci/install-system-tools.sh (or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: ./surge setup dev")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:  # a broken install must not look like a broken dashboard
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {exc}")
        yield instance
        instance.close()


def _shows(page: Any, element_id: str, expected: str, timeout: float = 15) -> None:
    """Wait until the element's text is ``expected``; fail naming what it showed instead.

    Polled from here rather than with ``wait_for_function``: that evaluates a string in the
    page, which the page's Content-Security-Policy (no ``unsafe-eval``) rightly forbids.
    """
    try:
        wait_until(lambda: page.text_content(f"#{element_id}") == expected, timeout, 0.1, f"#{element_id}")
    except AssertionError:
        shown = page.text_content(f"#{element_id}")
        raise AssertionError(f"#{element_id} shows {shown!r}, expected {expected!r}") from None


def test_dashboard_shows_the_posted_payments(stack: str, clean: Any, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 980})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(stack) else external.append(r.url))

    page.goto(f"{stack}/", wait_until="load")
    wait_until(lambda: int(page.get_attribute("body", "data-refreshed") or 0) >= 1, 15, 0.1, "a first refresh")
    _shows(page, "pay-count", "0")
    _shows(page, "pay-total", "0.00")

    # a small burst over ~5 s so the chart has a shape; amounts known to the cent
    amounts = [Decimal(100 + 37 * i) / 100 for i in range(45)]
    for i, amount in enumerate(amounts):
        status, _, body = http("POST", f"{stack}/payment", {"amount": f"{amount:.2f}", "currency": "EUR"})
        assert status == 202, body
        if i % 9 == 8:
            time.sleep(1.0)

    _shows(page, "pay-count", str(len(amounts)))
    _shows(page, "pay-total", f"{sum(amounts):,.2f}")
    _shows(page, "pay-min", f"{min(amounts):,.2f}")
    _shows(page, "pay-max", f"{max(amounts):,.2f}")
    _, _, stats = http("GET", f"{stack}/statistics?series=1")
    _shows(page, "pay-average", f"{Decimal(stats['payments']['average']):,.2f}")

    # the chart drew the burst of the chosen currency: every payment in some second, same peak
    counts = stats["payments_per_second"]["counts"]
    assert len(counts) == stats["window_seconds"] and sum(counts) == len(amounts)
    _shows(page, "rate-peak", f"{max(counts):,}")
    chart = "#chart-payments"
    wait_until(lambda: page.get_attribute(chart, "data-sum") == str(len(amounts)), 10, 0.1, "the chart's sum")
    assert page.get_attribute(chart, "data-points") == str(len(counts))
    assert page.get_attribute(chart, "data-peak") == str(max(counts))
    _shows(page, "series-currency", "EUR")
    # a time axis with several ticks, and the values under the cursor in the legend
    ticks = (page.get_attribute(chart, "data-xticks") or "").split("|")
    assert len(ticks) >= 4 and all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", tick) for tick in ticks), ticks
    over = page.locator(f"{chart} .u-over")
    box = over.bounding_box()
    over.hover(position={"x": box["width"] * 0.99, "y": box["height"] / 2})
    legend = page.eval_on_selector_all(f"{chart} .u-legend .u-value", "els => els.map(e => e.textContent)")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", legend[0]) and legend[1] != "—", legend

    # the charts fed by /metrics: requests by status, latency, workers, lag, orders, queue depth
    wait_until(lambda: int(page.get_attribute("body", "data-scraped") or 0) >= 3, 15, 0.2, "three /metrics scrapes")
    for panel in ("status", "latency", "stored", "lag", "queues"):
        assert int(page.get_attribute(f"#chart-{panel}", "data-points") or 0) >= 2, panel
    statuses = page.eval_on_selector_all("#chart-status .u-legend th", "els => els.map(e => e.textContent)")
    assert [s for s in statuses if s and s != "Time"] == ["202", "4xx", "409", "429", "503"]

    # queues: the payments queue and its DLQ, by name
    page.wait_for_selector("#queues tr[data-queue$='-payments-dlq']", timeout=10_000)
    queue_names = page.eval_on_selector_all("#queues tr[data-queue]", "rows => rows.map(r => r.dataset.queue)")
    assert any(n.endswith("-payments") for n in queue_names) and any(n.endswith("-payments-dlq") for n in queue_names)

    # health: every dependency listed and up, with a latency
    page.wait_for_selector("#health tbody tr:nth-child(3) td.up", timeout=15_000)
    assert page.locator("#health tbody td.up").count() == 3
    health_text = page.text_content("#health")
    assert all(name in health_text for name in ("redis", "sqs", "mysql")) and " ms" in health_text

    # orders: rendered when the checkout section exists, else said to be absent
    if "orders" in stats:
        assert page.is_visible("#orders")
    else:
        assert page.is_visible("#orders-empty") and page.text_content("#orders-empty") == "no checkout data"
        assert not page.is_visible("#orders") and not page.is_visible("#products")

    assert page.text_content("#updated").startswith("updated")
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not external, f"the page fetched something not from the app: {external}"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    over.hover(position={"x": box["width"] * 0.99, "y": box["height"] / 2})  # the legend shows values
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # the series follows the currency picker
    page.select_option("#currency", "USD") if "USD" in stats["payments_by_currency"] else page.goto(
        f"{stack}/?currency=USD"
    )
    _shows(page, "series-currency", "USD")
    wait_until(lambda: page.get_attribute(chart, "data-sum") == "0", 10, 0.1, "the USD series")
    page.close()


def test_dashboard_is_also_at_slash_dashboard_and_self_contained(stack: str) -> None:
    status, headers, body = http("GET", f"{stack}/dashboard")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "<script>" in body and "/*JS*/" not in body and "/*CSS*/" not in body
    body = body.replace("http://www.w3.org", "").replace("/*! https://github.com/leeoniya/uPlot", "")  # uPlot's banner
    assert "http://" not in body and "https://" not in body


def test_dashboard_renders_orders_sold_out_a_full_dlq_and_a_dependency_down(stack: str, browser: Any) -> None:
    """The panels that need checkout data or a fault, from canned answers in the browser.

    The orders section has the shape the checkout capability gives ``/statistics``.
    """
    import json

    _, _, real = http("GET", f"{stack}/statistics?series=1")
    canned = {
        **real,
        "orders": {
            "currency": "EUR",
            "count": 1820,
            "revenue": "908180.00",
            "units": 10000,
            "per_second": 1.517,
            "best_sellers": [
                {"product_id": 100, "sold": 10000, "available": 0},
                {"product_id": 7, "sold": 20, "available": 80},
            ],
            "sold_out": {"count": 1, "product_ids": [100]},
        },
        "queues": {
            "surge-payments": {"visible": 12, "in_flight": 50},
            "surge-payments-dlq": {"visible": 3, "in_flight": 0},
        },
    }
    canned["payments"] = {**real["payments"], "count": 1234567, "total": "98765432.10"}
    health = {
        "status": "degraded",
        "dependencies": {
            "redis": {"status": "down", "error": "ConnectionError", "latency_ms": 1.2},
            "sqs": {"status": "up", "latency_ms": 2.5},
            "mysql": {"status": "up", "latency_ms": 0.9},
        },
        # the shape ./surge up reports its processes and injected faults in
        "runtime": {
            "processes": {
                "gateway": {"state": "running", "restarts": 0},
                "workers": {"state": "restarting", "restarts": 2},
            },
            "faults": {"sqs": {"mode": "down", "latency_ms": 0, "left_s": 7.4}},
        },
    }
    page = browser.new_page(viewport={"width": 1280, "height": 980})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def answer(body: Any, status: int = 200) -> Any:
        return lambda route: route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page.route("**/statistics?*", answer(canned))
    page.route("**/health", answer(health, 503))
    page.goto(f"{stack}/dashboard")
    _shows(page, "orders-count", "1,820")
    _shows(page, "orders-revenue", "908,180.00")
    _shows(page, "orders-units", "10,000")
    _shows(page, "orders-soldout", "1")
    _shows(page, "orders-left", "80")
    _shows(page, "pay-count", "1,234,567")
    _shows(page, "pay-total", "98,765,432.10")
    assert not page.is_visible("#orders-empty") and page.is_visible("#products")
    assert "SOLD OUT" in page.text_content("#products tr[data-product='100']")
    assert "SOLD OUT" not in page.text_content("#products tr[data-product='7']")
    assert page.get_attribute("#queues tr[data-queue='surge-payments-dlq']", "class") == "dlq alert"
    assert page.get_attribute("#queues tr[data-queue='surge-payments']", "class") == ""
    page.wait_for_selector("#health td.down", timeout=10_000)
    assert page.text_content("#health td.down") == "down (ConnectionError)"
    _shows(page, "health-status", "degraded")
    assert page.text_content("#queues tr[data-queue='surge-payments-dlq'] td") == "payments (DLQ)"
    assert page.is_visible("#runtime") and not page.is_visible("#runtime-empty")
    runtime = page.text_content("#runtime")
    assert "restarts: workers2 (restarting)" in runtime and "fault: sqsdown, 7 s left" in runtime
    assert not errors, f"JavaScript errors on the page: {errors}"
    wait_until(lambda: int(page.get_attribute("body", "data-scraped") or 0) >= 3, 15, 0.2, "three /metrics scrapes")
    page.screenshot(path=str(SCREENSHOT.with_name("dashboard-canned-checkout.png")), full_page=True)
    page.close()
