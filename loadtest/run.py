"""Headless load runs with an integrity audit: ``./surge load <profile>``.

    ./surge load smoke                 # ~15 s, payments + statistics (CI runs it)
    ./surge load payments              # 500 users x 1 payment/s, 2 min
    ./surge load payments-direct       # the same load on the direct-MySQL comparison path
    ./surge load flash-sale            # 5,500 users, 0.1 req/s each, spawn 3,000/s, 2 min, 97 % hunters
    ./surge load flash-sale --host http://127.0.0.1:8000 --use-env   # against a running stack

A profile is a Locust config file, ``loadtest/profiles/<name>.conf`` (``locust --config`` runs
it too, with the web UI); its first line ``# about: ...`` describes it. Arguments after the
profile's own (e.g. ``-- --users 100 --surge-rate 2``) go to Locust and override it.

Steps: reset this namespace (tables, Redis keys, queues; load the catalogue for the
flash sale), start an own stack on free ports unless ``--host`` is given, run Locust
headless (``--csv``, ``--html``), wait for the queues to drain with a progress bar,
audit (``loadtest.audit``), then write ``summary.md`` and ``latency.png`` next to
Locust's files in ``var/loadtest/<profile>-<time>/``. Exit 1 on any integrity violation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.harness import REPO, StackShape, use_namespace

PROFILES_DIR = REPO / "loadtest" / "profiles"


@dataclass(frozen=True)
class Profile:
    config: Path
    tags: tuple[str, ...]
    users: int
    seconds: int
    about: str = ""

    @property
    def catalogue(self) -> bool:
        """Flash-sale buyers need the catalogue loaded first."""
        return "flash_sale" in self.tags

    @classmethod
    def read(cls, config: Path) -> Profile:
        """The few settings the runner itself needs, from the Locust config file."""
        values: dict[str, str] = {}
        about = ""
        for line in config.read_text().splitlines():
            if line.startswith("# about:"):
                about = line.removeprefix("# about:").strip()
            elif "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
        tags = tuple(t.strip() for t in values.get("tags", "").strip("[]").split(",") if t.strip())
        return cls(config, tags, int(values["users"]), int(values["run-time"].removesuffix("s")), about)


PROFILES = {path.stem: Profile.read(path) for path in sorted(PROFILES_DIR.glob("*.conf"))}


def reset_and_load(catalogue: bool) -> dict[int, int] | None:
    """``./surge reset`` (+ ``./surge catalogue load``): returns the initial stock per product."""
    from functions.bootstrap import surge
    from functions.checkout.catalogue import catalogue as products
    from functions.runtime.stack import prepare

    prepare(surge().settings)
    surge().operator.reset()
    if not catalogue:
        return None
    surge().operator.load_catalogue()
    return {p.id: p.stock for p in products()}


def run_locust(profile: Profile, host: str, out: Path, extra: list[str], seconds: int | None) -> int:
    command = [
        str(Path(sys.executable).with_name("locust")), "--config", str(profile.config),
        "--headless", "--host", host, "--csv", str(out / "locust"), "--csv-full-history",
        "--html", str(out / "locust.html"), "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING",
        "--ids-dir", str(out / "ids"), *(["--run-time", f"{seconds}s"] if seconds else []), *extra,
    ]  # fmt: skip
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=REPO).returncode


def fetch_statistics(host: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{host}/statistics", timeout=10) as response:
        return dict(json.loads(response.read()))


def run(profile_name: str, args: argparse.Namespace) -> int:
    from loadtest import audit as audit_mod
    from loadtest import harness, report

    profile = PROFILES[profile_name]
    out = Path(args.out or REPO / "var" / "loadtest" / f"{profile_name}-{time.strftime('%Y%m%dT%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    print(f"profile {profile_name}: {profile.about}\nresults {out}", flush=True)
    shape = StackShape(args.gateway_workers, args.gateway_threads, args.batch_wait_ms, args.pollers)
    stack = nullcontext(args.host) if args.host else harness.own_stack(shape)
    with stack as host:
        initial = reset_and_load(profile.catalogue)
        started = time.monotonic()
        locust_rc = run_locust(profile, host, out, args.locust_args, args.seconds)
        print(f"locust exited with {locust_rc} after {time.monotonic() - started:.0f}s", flush=True)
        depths = harness.wait_drained(timeout=args.drain_timeout)
        result = audit_mod.audit(
            audit_mod.read_accepted(out / "ids"),
            lambda: fetch_statistics(host),
            {q: n for q, n in depths.items() if q.endswith("-dlq")},
            initial_stock=initial,
        )
        undrained = {q: n for q, n in depths.items() if n and not q.endswith("-dlq")}
        result.add("queues drained", not undrained, str(undrained or f"all empty within {args.drain_timeout}s"))
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    summary = "\n\n".join(
        [
            f"# Load run `{profile_name}`\n\n{profile.about}. Host {host}. {when}",
            "## Requests (Locust)\n\n" + report.summary_table(out / "locust"),
            "## Audit\n\n" + result.table(),
        ]
    )
    drawn = report.plot(out / "locust", out / "latency.png", f"surge load {profile_name}")
    (out / "summary.md").write_text(summary + "\n")
    print(summary)
    print(f"\nfiles: {out}/summary.md, locust.html, locust_stats*.csv" + (", latency.png" if drawn else ""))
    if locust_rc not in (0, 1):  # 1 only means some requests failed; they are in the table
        print(f"locust crashed ({locust_rc})", file=sys.stderr)
        return 2
    print("AUDIT PASSED" if result.ok else "AUDIT FAILED: integrity violation", flush=True)
    return 0 if result.ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surge load", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("profile", choices=sorted(PROFILES))
    p.add_argument("--host", help="a running stack (else an own one on free ports)")
    p.add_argument(
        "--use-env",
        action="store_true",
        help="use MYSQL_URL/REDIS_PREFIX/QUEUE_PREFIX as set (else the surge_load namespace); "
        "with --host they must be the stack's own",
    )
    p.add_argument("--out", help="directory for the reports")
    p.add_argument("--seconds", type=int, help="run for this long instead of the profile's time")
    p.add_argument("--drain-timeout", type=float, default=600)
    p.add_argument("--gateway-workers", type=int, default=StackShape.gateway_workers)
    p.add_argument("--gateway-threads", type=int, default=StackShape.gateway_threads)
    p.add_argument("--batch-wait-ms", type=float, default=StackShape.sqs_batch_wait_ms)
    p.add_argument("--pollers", type=int, default=StackShape.pollers_per_queue, help="pollers per queue")
    return p


def main(argv: list[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    args.locust_args = [a for a in extra if a != "--"]  # anything else goes to locust
    use_namespace(args.use_env or bool(args.host))
    return run(args.profile, args)


if __name__ == "__main__":
    sys.exit(main())
