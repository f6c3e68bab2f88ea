"""Lambda's per-function limits, read where ``chalice deploy`` reads them: ``.chalice/config.json``
(top level, then the stage, then the stage's ``lambda_functions.<name>``), with Chalice's
defaults. The stage is ``CHALICE_STAGE`` (default ``local``); ``SURGE_CHALICE_CONFIG``
points at another config file.

>>> function_limits("store_payments", "prod")
FunctionLimits(timeout_s=30.0, memory_mb=512, reserved_concurrency=10)
>>> concurrency(function_limits("reconcile_every_minute", "prod"), 2)
1
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from chalice.config import Config

from functions.config import Settings

REPO = Path(__file__).resolve().parents[2]
LAMBDA_DEFAULT_TIMEOUT_S = 60  # what Chalice deploys when config.json says nothing
LAMBDA_DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class FunctionLimits:
    timeout_s: float
    memory_mb: int
    reserved_concurrency: int | None  # None: unreserved (the account's pool on AWS)


def config_path() -> Path:
    return Path(Settings.from_env().chalice_config or REPO / ".chalice" / "config.json")


@cache
def _config_from_disk(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def chalice_config(function_name: str, stage: str | None = None) -> Config:
    stage = stage or Settings.from_env().chalice_stage
    return Config(chalice_stage=stage, function_name=function_name, config_from_disk=_config_from_disk(config_path()))


def function_limits(function_name: str, stage: str | None = None) -> FunctionLimits:
    config = chalice_config(function_name, stage)
    reserved = config.reserved_concurrency
    return FunctionLimits(
        timeout_s=float(config.lambda_timeout or LAMBDA_DEFAULT_TIMEOUT_S),
        memory_mb=int(config.lambda_memory_size or LAMBDA_DEFAULT_MEMORY_MB),
        reserved_concurrency=None if reserved is None else int(reserved),
    )


def concurrency(limits: FunctionLimits, wanted: int) -> int:
    """Batches a function may run at once locally: ``wanted`` (``POLLERS_PER_QUEUE``; ``0``
    runs none), never more than its reserved concurrency."""
    reserved = limits.reserved_concurrency
    return wanted if reserved is None else min(wanted, reserved)
