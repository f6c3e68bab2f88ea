"""GET / and GET /dashboard: the live dashboard, one self-contained page.

The HTML, JS and CSS ship as files in this package and are joined once at import:
nothing is fetched from anywhere at run time (no CDN), so it works offline and on Lambda.
"""

from __future__ import annotations

from pathlib import Path

from chalice import Response

from functions.admin.operator import require_operator
from functions.bootstrap import surge
from functions.http.errors import Blueprint

bp = Blueprint(__name__)

_HERE = Path(__file__).parent


def render_page() -> str:
    """The page with its stylesheet and script inlined.

    >>> "<script>" in render_page() and "/*JS*/" not in render_page()
    True
    """
    parts = {
        "/*UPLOT_CSS*/": "uplot/uPlot.min.css",  # the vendored chart library (uplot/README.md)
        "/*UPLOT_JS*/": "uplot/uPlot.iife.min.js",
        "/*CSS*/": "dashboard.css",
        "/*JS*/": "dashboard.js",
    }
    page = (_HERE / "page.html").read_text(encoding="utf-8")
    for marker, name in parts.items():
        page = page.replace(marker, (_HERE / name).read_text(encoding="utf-8"))
    return page


PAGE = render_page()
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-cache",
    # everything is inline and same-origin; forbid the rest
    "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'",
}


def _page() -> Response:
    require_operator(bp.current_request.headers, surge().settings)
    return Response(body=PAGE, status_code=200, headers=dict(_HEADERS))


@bp.route("/", methods=["GET"])
def index() -> Response:
    return _page()


@bp.route("/dashboard", methods=["GET"])
def dashboard() -> Response:
    return _page()
