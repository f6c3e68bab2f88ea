"""Surge: the Chalice app. Thin on purpose: it only registers the blueprints."""

from chalice import Chalice

from functions.checkout.routes import bp as checkout
from functions.health import bp as health
from functions.http.middleware import error_middleware
from functions.payments.routes import bp as payments
from functions.reconcile.schedule import bp as reconcile
from functions.statistics.routes import bp as statistics
from functions.workers.orders import bp as order_worker
from functions.workers.payments import bp as payment_worker

app = Chalice(app_name="surge")
app.register_middleware(error_middleware, "http")
for blueprint in (payments, statistics, health, payment_worker, reconcile, checkout, order_worker):
    app.register_blueprint(blueprint)
