"""``./surge up --observability``: Debian's Prometheus scraping the local gateway, with the
recording rules of the docker-compose stack (``observability/rules.yml``).

It scrapes the gateway it is given, with the rules' absolute path:

>>> config = local_config("127.0.0.1:8000")
>>> '["127.0.0.1:8000"]' in config and str(RULES) in config
True
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from functions.config import Settings
from functions.runtime.emulator import REPO, port_open

RULES = REPO / "observability" / "rules.yml"
COMPOSE_CONFIG = REPO / "observability" / "prometheus.yml"


class NoPrometheus(RuntimeError):
    pass


def prometheus_binary() -> str:
    """``$PROMETHEUS_BIN`` or ``prometheus`` on PATH (Debian: ``apt-get install prometheus``)."""
    binary = Settings.from_env().prometheus_bin or shutil.which("prometheus")
    if not binary:
        raise NoPrometheus(
            "--observability needs the prometheus binary: apt-get install prometheus "
            "(or set PROMETHEUS_BIN), or run docker compose up for Prometheus + Grafana"
        )
    return binary


def local_config(gateway: str) -> str:
    """The compose stack's config, scraping ``gateway`` (host:port) and loading the same rules."""
    text = COMPOSE_CONFIG.read_text()
    text = text.replace('["gateway:8000"]', f'["{gateway}"]')
    return text.replace("  - rules.yml", f"  - {RULES}")


def check_prometheus(port: int) -> str:
    """The binary, when it exists and ``port`` is free; else exit with what to do."""
    try:
        binary = prometheus_binary()
    except NoPrometheus as exc:
        raise SystemExit(str(exc)) from exc
    if port_open(port):
        raise SystemExit(f"port {port} is taken (Prometheus): pass --prometheus-port")
    return binary


def start_prometheus(gateway_url: str, port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    """Prometheus on 127.0.0.1:``port`` scraping ``gateway_url``; returns once it is ready.
    Its data lives in ``var/prometheus-<gateway port>`` (one per stack)."""
    binary = prometheus_binary()
    gateway = gateway_url.removeprefix("http://")
    data_dir = REPO / "var" / f"prometheus-{gateway.rpartition(':')[2]}"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "prometheus.yml"
    config.write_text(local_config(gateway))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "prometheus.log"
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={data_dir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d"],
        stdout=log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NoPrometheus(f"prometheus exited with {process.returncode}: see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise NoPrometheus(f"prometheus did not get ready in 30 s: see {log_path}")
