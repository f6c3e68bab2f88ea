"""Operator actions of the flash sale (seed 002's ``app:reset``), plain functions on purpose:
the CLI calls them today, an admin route with a key can call them later.

Example::

    app = surge()
    reset(app)                                        # empty Redis keys, queues and tables
    load_catalogue(app, hot_stock=10_000, products=1000)
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import redis

from functions.bootstrap import Surge
from functions.checkout.model import Product

HOT_PRODUCT_ID = 100
FIRST_REGULAR_ID = 1001


def catalogue(hot_stock: int = 10_000, products: int = 1000, regular_stock: int = 100) -> list[Product]:
    """One hot product (id 100) and ``products`` regular ones (ids 1001…), prices fixed by id.

    >>> [p.id for p in catalogue(products=2)]
    [100, 1001, 1002]
    """
    hot = Product(HOT_PRODUCT_ID, "HOT-100", "Flash-sale console", 49_900, hot_stock)
    regular = [
        Product(pid, f"SKU-{pid}", f"Regular item {pid}", 199 + (pid * 7919) % 20_000, regular_stock)
        for pid in range(FIRST_REGULAR_ID, FIRST_REGULAR_ID + products)
    ]
    return [hot, *regular]


def load_catalogue(
    app: Surge, hot_stock: int = 10_000, products: int = 1000, regular_stock: int = 100
) -> dict[str, Any]:
    """Write the catalogue to MySQL (the truth), then its stock to Redis (net of pending orders)."""
    items = catalogue(hot_stock, products, regular_stock)
    app.orders.save_products(items)
    app.stock.load_many(items, force=True)
    return {
        "products": len(items),
        "hot_product": HOT_PRODUCT_ID,
        "hot_stock": hot_stock,
        "regular_stock": regular_stock,
    }


def delete_redis_keys(client: redis.Redis, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN in pages: never blocks Redis like KEYS)."""
    deleted = 0
    batch: list[str] = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)  # type: ignore[arg-type]
        if len(batch) == 500:
            deleted += int(client.delete(*batch))  # type: ignore[arg-type]
            batch = []
    if batch:
        deleted += int(client.delete(*batch))  # type: ignore[arg-type]
    return deleted


def reset(app: Surge) -> dict[str, Any]:
    """Delete this prefix's Redis keys, purge this app's queues and DLQs, empty every table."""
    from functions.workers.queues import app_queues

    deleted = delete_redis_keys(app.redis, app.settings.redis_prefix)
    purged, not_purged = [], []
    for name in app_queues(app.settings):
        for queue in (name, f"{name}-dlq"):
            try:
                app.sqs.client.purge_queue(QueueUrl=app.sqs.url(queue))
                purged.append(queue)
            except botocore.exceptions.ClientError as exc:  # AWS allows one purge a minute
                not_purged.append({"queue": queue, "error": exc.response.get("Error", {}).get("Code", str(exc))})
    with app.db.transaction() as cur:
        cur.execute("SHOW TABLES")
        tables = [row[0] for row in cur.fetchall() if row[0] != "schema_migrations"]
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            cur.execute(f"TRUNCATE TABLE `{table}`")
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    return {"redis_keys_deleted": deleted, "queues_purged": purged, "queues_not_purged": not_purged, "tables": tables}
