"""The capacity plan: its inputs are the project's measurements, and docs/deploy.md shows
exactly what the model prints."""

from __future__ import annotations

from dataclasses import replace

from infra.capacity import DEPLOY_DOC, ESM_MAX_CONCURRENCY, RATES, measured_costs, plan, render


def test_the_doc_shows_the_models_table() -> None:
    assert render() in DEPLOY_DOC.read_text(), "run: .venv/bin/python -m infra.capacity --write"


def test_costs_come_from_the_latest_full_benchmark_run() -> None:
    text = """# Benchmarks
### `./surge bench` — a summary without the full tables, 2026-12-02 13:05 UTC
| p99 at 550 req/s: payment / checkout / statistics | 161.6 / 115.3 / 101.5 ms | <= 10 ms |
### `./surge bench` — newest, 2026-12-01 10:00 UTC
| p99 at 550 req/s | 12.5 ms (p50 5 ms, 550/s) | <= 10 ms | 1.2x |
| payments_550 | 1000 | 700 | 600 | 40 | 90 |  | 150 | 4.0% |
### `./surge bench` — older
| p99 at 550 req/s | 99 ms (p50 5 ms, 550/s) | <= 10 ms | 1.2x |
| payments_550 | 1 | 2 | 3 | 4 | 5 |  | 150 | 4.0% |
"""
    costs = measured_costs(text)
    assert (costs.api_p99_ms, costs.worker_us, costs.mysql_us, costs.redis_us) == (12.5, 700, 40, 90)
    assert costs.source == "`./surge bench` of 2026-12-01 10:00 UTC"


def test_every_size_stays_within_what_aws_accepts_and_names_what_breaks() -> None:
    costs = measured_costs()
    plans = [plan(rate, costs) for rate in RATES]
    for p in plans:
        assert 2 <= p.esm_concurrency <= ESM_MAX_CONCURRENCY
        assert p.mysql_rows_per_s == p.rate
        assert p.proxy_db_connections < p.proxy_client_connections
    assert plans[0].rate < plans[0].first_limit_rate  # 500/s: nothing breaks with the defaults
    # 5,000/s breaks first on one of the API's defaults: the stage throttle, or the reserved
    # concurrency when the measured p99 is long enough that 50 concurrent calls carry less
    api_defaults = ("ApiThrottleRate", "ApiReservedConcurrency")
    assert any(name in plans[1].first_limit for name in api_defaults), plans[1].first_limit
    assert plans[1].rate >= plans[1].first_limit_rate
    assert plans[2].rate >= plans[2].beyond_limit_rate  # 50,000/s needs more than settings


def test_a_costlier_redis_moves_the_first_quota_to_redis() -> None:
    costs = replace(measured_costs(), redis_us=500)  # 2,000 payments/s per Redis thread
    assert plan(5_000, costs).beyond_limit.startswith("Redis")
