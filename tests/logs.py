"""Capture the JSON log lines of ``functions.observability.logger`` (unit tests)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.observability import logger


@contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """The lines logged inside the block, parsed, in the list yielded (filled on exit)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("INFO")
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logger.setLevel(level)
        logger._logger.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())
