"""Prometheus and Grafana: the recording rules, the provisioned dashboard and
``./surge up --observability`` speak only of metrics ``GET /metrics`` exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.runtime.emulator import REPO, free_port, stop_process
from functions.runtime.prometheus import RULES, local_config, start_prometheus
from functions.telemetry.catalog import FAMILIES
from functions.telemetry.metrics import LATENCY_BUCKETS_S, Increments
from functions.telemetry.prometheus import CONTENT_TYPE, render

OBS = REPO / "observability"
DASHBOARD = OBS / "grafana" / "dashboards" / "surge.json"
NAME = re.compile(r"\b(surge[a-z0-9_:]*)")
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="apt-get install prometheus")


def exported() -> set[str]:
    """Every series name /metrics can show."""
    names = set()
    for name, family in FAMILIES.items():
        names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"} if family.kind == "histogram" else {name}
    return names


def rules() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["record"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def test_recording_rules_read_exported_metrics_only() -> None:
    for record, expr in rules().items():
        assert record.startswith("surge:")
        used = set(NAME.findall(expr))
        assert used and used <= exported(), f"{record} reads {used - exported()}, which /metrics does not export"


def test_the_grafana_dashboard_queries_exported_metrics_or_recording_rules() -> None:
    board = dashboard()
    assert board["uid"] == "surge" and board["panels"]
    datasource = yaml.safe_load((OBS / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    known = exported() | rules().keys()
    titles = set()
    for panel in board["panels"]:
        titles.add(panel["title"])
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = set(NAME.findall(target["expr"]))
            assert used and used <= known, f"{panel['title']}: {used - known} is neither exported nor recorded"
    assert len(titles) == len(board["panels"])
    provider = yaml.safe_load((OBS / "grafana/provisioning/dashboards/surge.yml").read_text())["providers"][0]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"]
    assert f"./observability/grafana/dashboards:{provider['options']['path']}:ro" in compose["volumes"]


def test_compose_prometheus_scrapes_the_gateway_with_the_rules() -> None:
    config = yaml.safe_load((OBS / "prometheus.yml").read_text())
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == ["gateway:8000"]
    assert config["rule_files"] == ["rules.yml"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["prometheus"]
    assert "./observability/rules.yml:/etc/prometheus/rules.yml:ro" in compose["volumes"]


@needs_promtool
def test_promtool_accepts_the_rules_and_both_configs(tmp_path: Path) -> None:
    local = tmp_path / "prometheus.yml"
    local.write_text(local_config("127.0.0.1:8000"))
    for args in (["rules", str(RULES)], ["config", str(OBS / "prometheus.yml")], ["config", str(local)]):
        result = subprocess.run(["promtool", "check", *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def metrics_server() -> Iterator[str]:
    """A stand-in gateway serving a /metrics with accepted payments and latencies."""
    fields: dict[str, float] = {}
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            # the counter grows by 10 a second, so rate() has something to say
            elapsed = time.monotonic() - started
            fields['surge_payments_accepted_total{currency="EUR"}'] = 10 * elapsed
            for key, inc in (
                Increments().observe("surge_enqueue_latency_seconds", 0.003, LATENCY_BUCKETS_S).fields.items()
            ):
                fields[key] = fields.get(key, 0) + inc * 50
            body = render(fields).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="apt-get install prometheus")
def test_local_prometheus_scrapes_the_stack_and_records_the_rules(metrics_server: str, tmp_path: Path) -> None:
    port = free_port()
    process = start_prometheus(metrics_server, port, tmp_path)
    try:
        deadline, results = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            for rule in ("surge:payments_accepted:rate1m", "surge:enqueue_latency_seconds:p99"):
                url = f"http://127.0.0.1:{port}/api/v1/query?query={rule}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    found = json.load(response)["data"]["result"]
                results[rule] = float(found[0]["value"][1]) if found else None
            if all(v is not None and v > 0 for v in results.values()):
                break
            time.sleep(1)
        # rate() over [1m] needs a minute of samples to reach 10/s: that it is there and positive is the point
        assert results["surge:payments_accepted:rate1m"] > 0, results
        assert 0.002 < results["surge:enqueue_latency_seconds:p99"] <= 0.005, results
    finally:
        stop_process(process, 10)
