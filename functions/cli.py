"""Operator commands: ``python -m functions.cli <command>`` (or ``./surge <command>``).

Safe by default: a command acts on the running ``./surge up`` (``var/stack.json``), or on
the endpoint ``SQS_ENDPOINT_URL`` names; on AWS only with ``--aws`` or ``--stage NAME``.
With none of these it refuses before touching anything. Reports go to stdout, logs and
errors to stderr (one line, non-zero exit, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from functions.config import Settings

STACK_COMMANDS = ("prepare", "dlq", "reconcile", "reset", "catalogue", "invoke")  # they need a target


class Refused(Exception):
    """A command that will not run; its message is the one line the user sees."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables .chalice/config.json gives ``stage`` (as Chalice merges them)."""
    config = json.loads((Path(__file__).resolve().parents[1] / ".chalice" / "config.json").read_text())
    if stage not in config.get("stages", {}):
        raise Refused(f"no stage {stage!r} in .chalice/config.json")
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def choose_target(args: argparse.Namespace) -> Any:
    """Point this process's settings at what the command may touch; the running stack's
    state (for its admin key) or ``None``. Refuses when nothing was chosen."""
    from functions.runtime.state import running_stack, stack_file

    if getattr(args, "aws", False) or getattr(args, "stage", None):
        if args.stage:  # the shell's own variables still win, as for `chalice deploy`
            os.environ.update({k: v for k, v in stage_environment(args.stage).items() if k not in os.environ})
        return None
    if Settings.from_env().sqs_endpoint_url:
        return None  # an explicit local endpoint (LocalStack, a MiniStack of one's own)
    stack = running_stack()
    if stack is None:
        raise Refused(
            f"surge {args.command}: no local stack is running ({stack_file()}) and SQS_ENDPOINT_URL is not set;"
            " start ./surge up, or pass --aws to act on AWS"
        )
    os.environ.update(stack.env())
    return stack


def cmd_up(args: argparse.Namespace) -> int:
    from functions.runtime.stack import StackOptions, run

    return run(
        StackOptions(
            host=args.host,
            port=args.port,
            gateway_workers=args.gateway_workers,
            sqs_port=args.sqs_port,
            chaos=args.chaos,
            reload=args.reload,
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
    """An error message unless ``--admin-key`` (or ``ADMIN_KEY``) matches the key of the
    target: the running stack's own, or else the configured one."""
    from functions.admin.auth import check_admin_key
    from functions.admin.secret import admin_key
    from functions.errors import SurgeError

    provided = getattr(args, "admin_key", None) or settings.admin_key
    try:
        if args.stack is not None:
            args.stack.check_admin_key(provided)
        else:
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


def _targeting(command: argparse.ArgumentParser) -> None:
    where = command.add_mutually_exclusive_group()
    where.add_argument("--aws", action="store_true", help="act on AWS (the environment's credentials and endpoints)")
    where.add_argument("--stage", metavar="NAME", help="act on a deployed stage (its .chalice/config.json settings)")


def cmd_chaos(args: argparse.Namespace) -> int:
    from functions.runtime.chaos import clear_faults, parse_duration, request_fault
    from functions.runtime.state import running_stack

    stack = running_stack()
    if stack is None or not stack.chaos:
        raise Refused("surge chaos: needs a stack started with ./surge up --chaos (its dependencies behind proxies)")
    if args.dependency == "off":
        clear_faults()
        print(json.dumps({}))
        return 0
    wanted = 2 if args.fault == "latency" else 1
    if args.fault is None or len(args.durations) != wanted:
        raise Refused("surge chaos: say e.g. `chaos redis down 10s` or `chaos sqs latency 200ms 30s`")
    try:
        times = [parse_duration(text) for text in args.durations]
    except ValueError as exc:
        raise Refused(f"surge chaos: {exc}") from None
    latency = times[0] if args.fault == "latency" else 0.0
    print(json.dumps(request_fault(args.dependency, args.fault, times[-1], latency), indent=2))
    return 0


def _app() -> Any:
    from functions.runtime.app_loader import load_app

    return load_app()


def cmd_event(args: argparse.Namespace) -> int:
    from functions.runtime import invoke

    settings = Settings.from_env()
    if args.source == "sqs":
        bodies = list(args.body or []) + [invoke.payment_message(a, args.currency) for a in args.payment or []]
        if not bodies:
            raise Refused("surge event sqs: give --body TEXT or --payment AMOUNT (repeatable)")
        event = invoke.sqs_event(bodies, settings.queue_name(args.queue), settings.aws_region)
    elif args.source == "schedule":
        event = invoke.schedule_event(args.name)
    else:
        headers = dict(h.split(":", 1) for h in args.header or [])
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        if args.body is not None:
            headers.setdefault("content-type", "application/json")
        body = args.body[0].encode() if args.body else None
        event = invoke.api_event(_app(), args.method.upper(), args.path, headers, body)
    print(json.dumps(event, indent=2))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from functions.runtime import invoke

    app = _app()
    if args.function not in invoke.functions_of(app):
        raise Refused(f"surge invoke: no function {args.function!r}; there are: {', '.join(invoke.functions_of(app))}")
    if args.event == "-":
        event = json.loads(sys.stdin.read())
    elif args.event:
        event = json.loads(Path(args.event).read_text())
    elif args.function in {s.name for s in app.event_sources if type(s).__name__ == "ScheduledEventConfig"}:
        event = invoke.schedule_event(args.function)
    else:
        raise Refused(f"surge invoke: {args.function} needs --event FILE (or - for stdin); ./surge event writes one")
    print(json.dumps(invoke.invoke(app, args.function, event), indent=2, default=str))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from functions.runtime import logs

    for line in logs.tail(args.function, args.lines):
        print(line)
    if args.follow:
        for _ in logs.follow(args.function):
            pass
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="surge", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = root.add_subparsers(dest="command", required=True, metavar="<command>")
    up = sub.add_parser("up", help="run the whole local stack")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--gateway-workers", type=int, default=2)
    up.add_argument("--sqs-port", type=int, default=4566, help="port of the embedded SQS emulator")
    up.add_argument("--chaos", action="store_true", help="reach Redis, MySQL and SQS through fault proxies")
    up.add_argument(
        "--no-reload", dest="reload", action="store_false", help="do not reload when app.py or functions/ change"
    )
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
    chaos = sub.add_parser(
        "chaos",
        help="fail a dependency of the running stack: chaos redis down 10s | chaos sqs latency 200ms 30s",
    )
    chaos.add_argument("dependency", choices=["sqs", "redis", "mysql", "off"], help="what to fail (off: end all)")
    chaos.add_argument("fault", nargs="?", choices=["down", "latency"])
    chaos.add_argument("durations", nargs="*", metavar="DURATION", help="down: how long; latency: delay, how long")
    chaos.set_defaults(func=cmd_chaos)
    event = sub.add_parser("event", help="write a Lambda-shaped event to stdout: event sqs|schedule|api ...")
    sources = event.add_subparsers(dest="source", required=True)
    sqs = sources.add_parser("sqs", help="an SQS batch")
    sqs.add_argument("--body", action="append", help="a message body (repeatable)")
    sqs.add_argument("--payment", action="append", metavar="AMOUNT", help="a payment message (repeatable)")
    sqs.add_argument("--currency", default="EUR")
    sqs.add_argument("--queue", default="payments", help="payments or orders (prefixed with QUEUE_PREFIX)")
    schedule = sources.add_parser("schedule", help="an EventBridge scheduled event")
    schedule.add_argument("--name", default="reconcile_every_minute")
    api = sources.add_parser("api", help="an API Gateway proxy request")
    api.add_argument("--method", default="GET")
    api.add_argument("--path", default="/health")
    api.add_argument("--body", nargs=1, help="the request body (JSON)")
    api.add_argument("--header", action="append", metavar="NAME:VALUE")
    event.set_defaults(func=cmd_event)
    invoke = sub.add_parser("invoke", help="run one function once with an event and print its result")
    invoke.add_argument("function", help="store_payments, settle_orders, reconcile_every_minute or api_handler")
    invoke.add_argument("--event", metavar="FILE", help="the event (JSON file, - for stdin)")
    invoke.set_defaults(func=cmd_invoke)
    logs = sub.add_parser("logs", help="the stack's log lines, readable: logs [<function>] [-f]")
    logs.add_argument("function", nargs="?", help="only this function's lines (e.g. store_payments, api_handler)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=100, help="how many lines to show first")
    logs.set_defaults(func=cmd_logs)
    for name in STACK_COMMANDS:
        _targeting(sub.choices[name])
    return root


def commands() -> list[tuple[str, str]]:
    """Each command with its one-line help (for ``./surge help``)."""
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(choice.dest, choice.help or "") for choice in sub._choices_actions]


def one_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:300]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--commands"]:
        for name, text in commands():
            print(f"  {name:11} {text}")
        return 0
    if argv[:1] == ["--known"]:  # ./surge asks before it installs anything
        return 0 if argv[1:2] and argv[1] in dict(commands()) else 2
    args = parser().parse_args(argv)
    from functions.observability import logger

    # the report alone on stdout (`./surge reconcile | jq .`); log lines go to stderr
    handler = logger.registered_handler
    if handler.stream is not sys.stderr:  # type: ignore[attr-defined]
        # not setStream: it flushes the old stream, which a caller may have closed meanwhile
        handler.stream = sys.stderr  # type: ignore[attr-defined]
    try:
        args.stack = choose_target(args) if args.command in STACK_COMMANDS else None
        return int(args.func(args))
    except Refused as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an operator sees one line, never a traceback
        print(f"surge {args.command}: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
