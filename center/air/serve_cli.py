"""``hotcast center serve`` and ``hotcast center schedule --show``.

``serve`` reads the plan (``--config FILE``, else ``<home>/serve.toml``, else the built-in
default; ``--example-plan`` prints the documented example), checks the passphrase opens the
center keys, and runs ``center.air.serve.Serve`` until SIGTERM or Ctrl-C (exit 0, or 130 after
Ctrl-C); its log is JSON lines on stderr, its status ``<home>/serve/status.json`` (shown by
``hotcast center status``). With ``$HOTCAST_NOW`` set, its clock starts there and runs on in
real time.

``schedule --show [--hours N]`` prints what the plan puts on air when
(``center.air.schedule.schedule_rows``): a table on a terminal, JSON lines with ``--json`` or
in a pipe.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading

from center.air.clock import OffsetClock
from center.air.plan import example_plan_text, load_plan, plan_path
from center.air.schedule import MAX_HOURS, schedule_rows
from center.air.serve import Serve
from center.cli_output import utc, with_utc
from center.errors import UsageError
from center.registry.home import KEYS_FILE, CenterHome
from crypto import CenterKeys, KeyFileError

ROLE = "center"


def cmd_serve(args: argparse.Namespace, ctx) -> int:
    if args.example_plan:
        ctx.out.write_text(example_plan_text())
        return 0
    home_path = ctx.home(args, ROLE)
    CenterHome.open(home_path).close()  # a center home, or HomeError naming it
    plan = load_plan(plan_path(home_path, args.config), home_path)
    secret = ctx.passphrase("center keys")
    try:
        CenterKeys.from_file((home_path / KEYS_FILE).read_bytes(), secret)
    except KeyFileError as exc:
        raise UsageError(f"cannot open the center keys: {exc}") from None
    if any(c.output.kind == "stream" and c.output.path == "-" for c in plan.channels):
        ctx.samples_to_stdout()
    clock = OffsetClock(ctx.now()) if "HOTCAST_NOW" in ctx.environ else None
    serve = Serve(plan, home_path, passphrase=lambda: secret, by=ctx.operator(args), clock=clock)
    stopped_by: list[str] = []
    http = _start_http(args.http, home_path, plan, secret, ctx) if args.http else None

    def on_signal(signum: int, frame: object) -> None:
        stopped_by.append(signal.Signals(signum).name)
        serve.stop(signal.Signals(signum).name)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = serve.run()
    finally:
        if http is not None:
            http.stop()
        for s, handler in old.items():
            signal.signal(s, handler)
    return 130 if stopped_by and stopped_by[0] == "SIGINT" else status


def _start_http(listen: str, home_path, plan, secret: str, ctx):
    """The center service beside the scheduler, in this process (its own thread): reports
    it takes land in the registry, which the scheduler watches, so they are on air at the
    next frame boundary like one from the shell. Its log lines join serve's on stderr."""
    from center.service import start_http  # the ASGI stack loads only when asked for

    lock = threading.Lock()

    def log(obj: dict) -> None:
        with lock:
            sys.stderr.write(json.dumps({"source": "http", **obj}, default=str) + "\n")
            sys.stderr.flush()

    def schedule(hours: float) -> list[dict]:
        with CenterHome.open(home_path) as home:
            return schedule_rows(plan, home, ctx.now(), hours)

    try:
        service = start_http(home_path, listen, passphrase=lambda: secret, clock=ctx.now,
                             schedule=schedule, log=log)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--http {listen}: {exc}") from None
    host, port = service.address
    log({"event": "http_listening", "url": f"http://{host}:{port}"})
    return service


def cmd_schedule(args: argparse.Namespace, ctx) -> int:
    if not args.show:
        raise UsageError("say what to do: --show prints the schedule")
    if not (math.isfinite(args.hours) and 0 < args.hours <= MAX_HOURS):
        raise UsageError(f"--hours {args.hours:g} must be above 0 and at most {MAX_HOURS}")
    home_path = ctx.home(args, ROLE)
    now = ctx.now()
    with CenterHome.open(home_path) as home:
        plan = load_plan(plan_path(home_path, args.config), home_path)
        rows = schedule_rows(plan, home, now, args.hours)
    if args.json or not sys.stdout.isatty():
        ctx.emit_many(with_utc(r) for r in rows)
    else:
        ctx.out.write_text(schedule_table(rows))
    return 0


def schedule_table(rows: list[dict]) -> str:
    """Rows as aligned text: time (UTC), channel, kind, seq, what."""
    cells = [(utc(r["at"]), r["channel"], r["kind"], "-" if r["seq"] is None else str(r["seq"]),
              r["what"]) for r in rows]
    head = ("time (UTC)", "channel", "kind", "seq", "what")
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(4)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4]
             for c in [head, *cells]]
    return "\n".join(lines) + "\n"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``serve`` and ``schedule`` under ``hotcast center``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="center home folder (default $HOTCAST_HOME, else "
                                       "./hotcast-home)")
    common.add_argument("--config", metavar="FILE", help="the plan (default <home>/serve.toml, "
                        "else the built-in one: fm to rotating WAV files in <home>/serve/air)")
    text = "keep every channel of the plan on air: build deltas, roll keys, send heartbeats"
    p = sub.add_parser("serve", parents=[common], help=text, description=text)
    p.add_argument("--by", help="operator name for the audit log (default $HOTCAST_OPERATOR, "
                                "else the login name)")
    p.add_argument("--http", metavar="ADDR:PORT",
                   help="also serve the center service (reports, pull, operator page) here, "
                        "e.g. 127.0.0.1:8080 (port 0: any free port)")
    p.add_argument("--example-plan", action="store_true",
                   help="print the documented example plan and exit")
    p.set_defaults(func=cmd_serve)
    text = "show what the plan puts on air when, per channel"
    p = sub.add_parser("schedule", parents=[common], help=text, description=text)
    p.add_argument("--show", action="store_true", help="print the schedule")
    p.add_argument("--hours", type=float, default=1.0, metavar="N",
                   help="how far ahead (default 1)")
    p.add_argument("--json", action="store_true", help="JSON lines even on a terminal")
    p.set_defaults(func=cmd_schedule)
