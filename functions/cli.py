"""Operator commands: ``python -m functions.cli <command>`` (or ``./surge <command>``)."""

from __future__ import annotations

import argparse
import json
import sys

from functions.config import Settings


def cmd_up(args: argparse.Namespace) -> int:
    from functions.runtime.stack import StackOptions, run

    return run(
        StackOptions(
            host=args.host,
            port=args.port,
            gateway_workers=args.gateway_workers,
            sqs_port=args.sqs_port,
            prometheus_port=args.prometheus_port if args.observability else None,
            sqs=args.sqs,
        )
    )


def cmd_prepare(args: argparse.Namespace) -> int:
    from functions.runtime.stack import prepare

    if args.schema_only:  # on AWS CloudFormation owns the queues (their timeouts, DLQs)
        from functions.adapters.mysql import MySqlTarget
        from functions.adapters.schema import apply_schema

        applied = apply_schema(MySqlTarget.from_url(Settings.from_env().mysql_url))
    else:
        applied = prepare(Settings.from_env())
    print(json.dumps({"migrations_applied": applied}))
    return 0


def require_admin_key(args: argparse.Namespace, settings: Settings) -> str | None:
    """An error message unless ``--admin-key`` (or ``ADMIN_KEY``) matches the configured key."""
    from functions.admin.auth import check_admin_key
    from functions.admin.secret import admin_key
    from functions.errors import SurgeError

    provided = getattr(args, "admin_key", None) or settings.admin_key
    try:
        check_admin_key(provided, admin_key(settings))
    except SurgeError as exc:
        return f"refused: {exc.message} (pass --admin-key or set ADMIN_KEY)"
    return None


def cmd_dlq(args: argparse.Namespace) -> int:
    from functions.bootstrap import surge

    settings = Settings.from_env()
    if args.action == "redrive" and (refused := require_admin_key(args, settings)):
        print(refused, file=sys.stderr)
        return 3
    operator = surge().operator
    if args.action == "show":
        print(json.dumps(operator.show_dlq(args.queue, peek=args.peek), indent=2))
    else:
        print(json.dumps({"redriven": operator.redrive(args.queue, limit=args.limit)}))
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from functions.bootstrap import surge

    print(json.dumps(surge().reconcile.run(), indent=2))
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    if refused := require_admin_key(args, Settings.from_env()):
        print(refused, file=sys.stderr)
        return 3
    from functions.bootstrap import surge

    print(json.dumps(surge().operator.reset(), indent=2))
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    if refused := require_admin_key(args, Settings.from_env()):
        print(refused, file=sys.stderr)
        return 3
    from functions.bootstrap import surge

    print(json.dumps(surge().operator.load_catalogue(args.hot_stock, args.products, args.regular_stock), indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="surge", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole local stack")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--gateway-workers", type=int, default=2)
    up.add_argument("--sqs-port", type=int, default=4566, help="port of the embedded SQS emulator")
    up.add_argument(
        "--sqs",
        choices=["ministack", "localstack"],
        default="ministack",
        help="SQS emulator to start when SQS_ENDPOINT_URL is unset (localstack: host mode, needs Python >= 3.13)",
    )
    up.add_argument("--observability", action="store_true", help="also run Prometheus scraping the stack")
    up.add_argument("--prometheus-port", type=int, default=9090, help="port of Prometheus (--observability)")
    up.set_defaults(func=cmd_up)
    prep = sub.add_parser("prepare", help="apply the schema and create the queues")
    prep.add_argument(
        "--schema-only", action="store_true", help="only the MySQL schema (on AWS the stack owns the queues)"
    )
    prep.set_defaults(func=cmd_prepare)
    dlq = sub.add_parser("dlq", help="show or redrive a dead-letter queue")
    dlq.add_argument("action", choices=["show", "redrive"])
    dlq.add_argument("--queue", default="payments", help="payments or orders")
    dlq.add_argument("--peek", type=int, default=5, help="messages to show")
    dlq.add_argument("--limit", type=int, default=10_000, help="most messages to redrive")
    dlq.add_argument("--admin-key", help="the admin key (redrive needs it; default: $ADMIN_KEY)")
    dlq.set_defaults(func=cmd_dlq)
    sub.add_parser("reconcile", help="rebuild Redis from MySQL now; print the drift").set_defaults(func=cmd_reconcile)
    reset = sub.add_parser("reset", help="delete Redis keys, purge queues, empty tables (admin key)")
    reset.add_argument("--admin-key", help="the admin key (default: $ADMIN_KEY)")
    reset.set_defaults(func=cmd_reset)
    catalogue = sub.add_parser("catalogue", help="load the flash-sale catalogue into MySQL and Redis")
    catalogue.add_argument("action", choices=["load"])
    catalogue.add_argument("--hot-stock", type=int, default=10_000, help="units of the hot product (id 100)")
    catalogue.add_argument("--products", type=int, default=1000, help="regular products (ids 1001…)")
    catalogue.add_argument("--regular-stock", type=int, default=100, help="units of each regular product")
    catalogue.add_argument("--admin-key", help="the admin key (default: $ADMIN_KEY)")
    catalogue.set_defaults(func=cmd_catalogue)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
