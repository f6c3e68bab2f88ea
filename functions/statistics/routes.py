"""GET /statistics"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.admin.operator import is_operator
from functions.bootstrap import surge
from functions.errors import ValidationFailed
from functions.http.errors import Blueprint
from functions.http.request import query_int
from functions.money import CURRENCIES

bp = Blueprint(__name__)


@bp.route("/statistics", methods=["GET"])
def statistics() -> dict[str, Any]:
    app = surge()
    request = bp.current_request
    limit = app.settings.stats_window_seconds
    window = query_int(request, "window", default=limit, low=1, high=limit)
    params: Mapping[str, str] = request.query_params or {}
    currency = params.get("currency", app.settings.default_currency)
    if currency not in CURRENCIES:
        raise ValidationFailed('currency must be an upper-case ISO 4217 code such as "EUR"', field="currency")
    series = params.get("series", "0")
    if series not in ("0", "1"):
        raise ValidationFailed("series must be 0 or 1", field="series")
    operator = is_operator(request.headers, app.settings)
    return app.statistics.snapshot(window, currency, series=series == "1", operator=operator)
