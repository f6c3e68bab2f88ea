"""Surge: the Chalice app. Thin on purpose: it only registers the blueprints."""

from chalice import Chalice

from functions.admin.routes import bp as admin
from functions.api_docs import bp as api_docs
from functions.checkout.routes import bp as checkout
from functions.dashboard.routes import bp as dashboard
from functions.health import bp as health
from functions.http.middleware import error_middleware
from functions.http.ratelimit import rate_limit_middleware
from functions.payments.routes import bp as payments
from functions.reconcile.schedule import bp as reconcile
from functions.schema_migration import bp as schema_migration
from functions.statistics.routes import bp as statistics
from functions.telemetry.routes import bp as telemetry
from functions.telemetry.tracing import instrument
from functions.workers.orders import bp as order_worker
from functions.workers.payments import bp as payment_worker

app = Chalice(app_name="surge")
instrument(app)  # first, so it wraps everything: X-Ray on Lambda, nothing locally
app.register_middleware(error_middleware, "http")
app.register_middleware(rate_limit_middleware, "http")  # inside: a 429 carries the request id too
for blueprint in (
    payments,
    statistics,
    health,
    payment_worker,
    reconcile,
    checkout,
    order_worker,
    dashboard,
    telemetry,
    admin,
    api_docs,
    schema_migration,
):
    app.register_blueprint(blueprint)
