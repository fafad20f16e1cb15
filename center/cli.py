"""``hotcast center ...``: the operator's commands over ``CenterHome`` (the registry, keys and
bundles); the commands that put signal on air are ``center.air.cli``.

Each command is ``run(args, ctx) -> int`` under ``hotcast.runner``, which reads the clock and
the environment (``ctx.now()``, ``ctx.home``, ``ctx.operator``), maps errors to exit statuses
(0 done; 2 bad usage or input, nothing changed; 1 other failures) and writes JSON lines.
Output for programs is JSON lines on stdout; card IDs are JSON strings (they exceed the 2**53
integers JSON readers keep exactly); times are unix seconds with an ``_utc`` ISO 8601 twin.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from center import cli_output as out
from center.errors import UsageError
from center.registry.building import DEFAULT_ROLL_VALID_S, DEFAULT_VALID_S
from center.registry.home import CenterHome
from center.registry.inputs import parse_date_end, parse_universe
from center.registry.secretfile import write_public_file, write_secret_file
from crypto import BundleKind
from framing import Reason, parse_card_id

ROLE = "center"
# Most card IDs read from standard input at once (``revoke -``): 10 M IDs of 20 bytes = 200 MB.
MAX_STDIN_CARDS = 10_000_000


def _valid_for_s(args: argparse.Namespace) -> int:
    hours = args.valid_hours
    if not hours > 0 or hours > 24 * 366 * 10:
        raise UsageError(f"--valid-hours {hours:g} must be above 0 and at most ten years")
    return max(1, round(hours * 3600))  # 3600 s per hour


def _seq_arg(text: str) -> int:
    """argparse type of a sequence number: ASCII digits, 1 .. 2**63 - 1 (SQLite's integers)."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"bad sequence number {text!r}: want 1 to 2**63-1")
    return int(text)


def card_texts(cards: list[str], stdin=None) -> list[str]:
    """The card IDs of a command line, where ``-`` reads them from standard input (one or more
    per line, separated by white space or commas)."""
    texts: list[str] = []
    for card in cards:
        if card != "-":
            texts.append(card)
            continue
        stream = sys.stdin if stdin is None else stdin
        for line in stream:
            texts += [t for t in line.replace(",", " ").split() if t]
            if len(texts) > MAX_STDIN_CARDS:
                raise UsageError(f"more than {MAX_STDIN_CARDS} card IDs on standard input; "
                                 "use `hotcast center import` for bulk lists")
    if not texts:
        raise UsageError("no card IDs given (standard input was empty)")
    return texts


def _write_bundle(ctx, path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_public_file(Path(path), data)


def _open(args: argparse.Namespace, ctx) -> CenterHome:
    return CenterHome.open(ctx.home(args, ROLE))


# -- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, ctx) -> int:
    universe = None if args.universe is None else parse_universe(args.universe)
    home_path = ctx.home(args, ROLE, creating=True)
    with CenterHome.init(home_path, universe, now=ctx.now(), by=ctx.operator(args)) as home:
        ctx.emit({"home": str(home.path), "universe": str(home.universe)})
    return 0


def cmd_revoke(args: argparse.Namespace, ctx) -> int:
    cards = card_texts(args.cards)
    with _open(args, ctx) as home:
        counts = home.revoke(cards, args.reason, now=ctx.now(), by=ctx.operator(args),
                             note=args.note)
        ctx.emit(out.counts(counts, home.count()))
    return 0


def cmd_reinstate(args: argparse.Namespace, ctx) -> int:
    cards = card_texts(args.cards)
    with _open(args, ctx) as home:
        n = home.reinstate(cards, now=ctx.now(), by=ctx.operator(args), note=args.note)
        ctx.emit({"reinstated": n, "entries": home.count()})
    return 0


def cmd_import(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        try:
            data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.file!r}: {exc.strerror}") from None
        result = home.import_csv(data, now=ctx.now(), by=ctx.operator(args),
                                 note=f"from {args.file}")
        ctx.emit({"rows": result.rows, **out.counts(result.counts, home.count())})
    return 0


def cmd_list(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        ctx.out.write_text_lines(out.entry_lines(home.list_entries()))
    return 0


def cmd_provision(args: argparse.Namespace, ctx) -> int:
    out.check_out(args.out, allow_stdout=False)
    with _open(args, ctx) as home:
        data = home.provision(now=ctx.now(), by=ctx.operator(args), note=f"to {args.out}")
        write_secret_file(Path(args.out), data)
        ctx.emit({"out": args.out, "bytes": len(data)})
    return 0


def cmd_build(args: argparse.Namespace, ctx) -> int:
    out.check_out(args.out, allow_stdout=True)
    valid_for_s = _valid_for_s(args)
    kind = BundleKind.FULL if args.delta_from is None else BundleKind.DELTA
    if args.out == "-":
        ctx.samples_to_stdout()
    with _open(args, ctx) as home:
        built = home.build(kind, args.delta_from, now=ctx.now(), by=ctx.operator(args),
                           valid_for_s=valid_for_s)
        _write_bundle(ctx, args.out, built.sealed)
        ctx.emit(out.with_utc(built.summary()))
    return 0


def cmd_rotate(args: argparse.Namespace, ctx) -> int:
    if args.out:
        out.check_out(args.out, allow_stdout=True)
    valid_for_s = _valid_for_s(args)
    if args.out == "-":
        ctx.samples_to_stdout()
    with _open(args, ctx) as home:
        rotate = home.rotate_master if args.command == "rotate-master" else home.rotate_signing
        built = rotate(now=ctx.now(), by=ctx.operator(args), valid_for_s=valid_for_s)
        if args.out:
            _write_bundle(ctx, args.out, built.sealed)
        ctx.emit(out.with_utc({**built.summary(), "new_key_id": built.announces_key}))
    return 0


def cmd_token(args: argparse.Namespace, ctx) -> int:
    try:
        valid_until = parse_date_end(args.valid_until)
    except ValueError as exc:
        raise UsageError(f"--valid-until: {exc}") from None
    now = ctx.now()
    if valid_until < now:
        raise UsageError(f"--valid-until {args.valid_until} is in the past")
    if args.out:
        out.check_out(args.out, allow_stdout=False)
    card_id = parse_card_id(args.card)
    with _open(args, ctx) as home:
        token = home.issue_token(card_id, valid_until, now=now, by=ctx.operator(args))
    if args.out:
        write_public_file(Path(args.out), token)
    ctx.emit(out.with_utc({"card": args.card, "valid_until": valid_until, "token": token.hex()}))
    return 0


def cmd_history(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        ctx.emit_many(out.with_utc(row) for row in home.history())
    return 0


def _audit_filter(args: argparse.Namespace) -> tuple[int | None, int | None, str | None]:
    card = None if args.card is None else parse_card_id(args.card)
    since = None
    if args.since is not None:
        try:
            since = out.parse_time(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    return card, since, args.action


def cmd_audit(args: argparse.Namespace, ctx) -> int:
    card, since, action = _audit_filter(args)
    with _open(args, ctx) as home:
        rows: Iterator[tuple] = home.audit_log(card=card, since=since, action=action)
        ctx.emit_many(out.with_utc(out.audit_row(r)) for r in rows)
    return 0


def cmd_export(args: argparse.Namespace, ctx) -> int:
    out.check_out(args.out, allow_stdout=True)
    if args.out == "-":
        ctx.samples_to_stdout()
    with _open(args, ctx) as home:
        built = home.bundle(args.seq)
        _write_bundle(ctx, args.out, built.sealed)
        home.record_export(built.seq, args.out, now=ctx.now(), by=ctx.operator(args))
        ctx.emit(out.with_utc(built.summary()))
    return 0


def cmd_carousel(args: argparse.Namespace, ctx) -> int:
    now = ctx.now()
    with _open(args, ctx) as home:
        bundles = home.carousel(now)
        for warning in out.expiry_warnings(bundles, now):
            ctx.warn(warning)
        ctx.emit_many(out.with_utc(b.summary()) for b in bundles)
    return 0


def cmd_status(args: argparse.Namespace, ctx) -> int:
    now = ctx.now()
    with _open(args, ctx) as home:
        status = out.center_status(home, now, args.profile)
    for warning in status["warnings"]:
        ctx.warn(warning)
    if args.table or (args.table is None and sys.stdout.isatty()):
        ctx.out.write_text(out.status_table(status))
    else:
        ctx.emit(status)
    return 0


# -- parsers ------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the registry, key and bundle commands under ``hotcast center``."""
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", help="center home folder (default $HOTCAST_HOME, else ./hotcast-home)")
    by = argparse.ArgumentParser(add_help=False)
    by.add_argument("--by", help="operator name for the audit log (default $HOTCAST_OPERATOR, "
                                 "else the login name)")
    validity = argparse.ArgumentParser(add_help=False)
    validity.add_argument("--valid-hours", type=float, default=DEFAULT_VALID_S / 3600,
                          help="bundle validity after creation, hours (default 24)")
    roll_validity = argparse.ArgumentParser(add_help=False)
    roll_validity.add_argument("--valid-hours", type=float, default=DEFAULT_ROLL_VALID_S / 3600,
                               help="roll bundle validity, hours (default 8784, a year: rolls "
                               "stay on air for terminals that were away)")

    def add(name: str, func, help_text: str, *parents, changes: bool = False):
        chosen = [home, *([by] if changes else []), *parents]
        p = sub.add_parser(name, parents=chosen, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "create a center home with fresh keys", changes=True)
    p.add_argument("--universe", help="card ID ranges LO-HI[,LO-HI...] (default 0-9999999999999999999)")
    reasons = [r.name.lower() for r in Reason]
    p = add("revoke", cmd_revoke, "put cards on the hot list (- reads card IDs from stdin)",
            changes=True)
    p.add_argument("--reason", default="stolen", type=str.lower, choices=reasons)
    p.add_argument("--note", default="", help="why, for the audit log")
    p.add_argument("cards", nargs="+", metavar="CARD")
    p = add("reinstate", cmd_reinstate, "take cards off the hot list (- reads card IDs from "
            "stdin)", changes=True)
    p.add_argument("--note", default="", help="why, for the audit log")
    p.add_argument("cards", nargs="+", metavar="CARD")
    p = add("import", cmd_import, "import card_id,reason[,expires YYYY-MM] rows, all or nothing",
            changes=True)
    p.add_argument("file", metavar="FILE.csv", help="CSV file, or - for standard input")
    add("list", cmd_list, "print the hot list as JSON lines")
    p = add("provision", cmd_provision, "write key material for one terminal (mode 0600)",
            changes=True)
    p.add_argument("--out", required=True, metavar="FILE")
    p = add("build", cmd_build, "build and record a full or delta bundle", validity, changes=True)
    p.add_argument("--out", required=True, metavar="FILE", help="bundle file, or - for stdout")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="a full list (the default)")
    group.add_argument("--delta-from", type=_seq_arg, metavar="SEQ", help="a delta from list bundle SEQ")
    for name, what in (("rotate-master", "master key"), ("rotate-signing", "signing key")):
        p = add(name, cmd_rotate, f"roll the {what}; records the roll bundle", roll_validity,
                changes=True)
        p.add_argument("--out", metavar="FILE", help="also write the roll bundle here")
    p = add("token", cmd_token, "issue a card validity token", changes=True)
    p.add_argument("card", metavar="CARD")
    p.add_argument("--valid-until", required=True, metavar="YYYY-MM-DD", help="valid through this UTC day")
    p.add_argument("--out", metavar="FILE", help="also write the raw token bytes here")
    add("history", cmd_history, "print the built bundles as JSON lines")
    p = add("audit", cmd_audit, "print the audit log as JSON lines")
    p.add_argument("--card", metavar="CARD", help="only rows about this card")
    p.add_argument("--since", metavar="TIME", help="only rows at or after TIME (unix seconds, "
                   "YYYY-MM-DD or an ISO 8601 UTC time)")
    p.add_argument("--action", metavar="NAME", help="only rows of this action (revoke, build, ...)")
    p = add("export", cmd_export, "write a recorded bundle to a file", changes=True)
    p.add_argument("seq", type=_seq_arg, metavar="SEQ")
    p.add_argument("--out", required=True, metavar="FILE", help="bundle file, or - for stdout")
    add("carousel", cmd_carousel, "print what goes on air now (rolls, latest full, newer deltas)")
    p = add("status", cmd_status, "what is on air, its cycle, the list's age and expiry, warnings")
    p.add_argument("--profile", default="fm", help="profile whose cycle to show (default fm)")
    p.add_argument("--table", action=argparse.BooleanOptionalAction, default=None,
                   help="a table for people (default on a terminal) or one JSON object")
