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
from center.air import serve_cli
from center.air.status import read_serve_status, serve_status_rows
from center.errors import UsageError
from center.registry.building import DEFAULT_ROLL_VALID_S, DEFAULT_VALID_S
from center.registry.home import MIGRATED_FILE, REQUEST_FILE, CenterHome, check_new_home
from center.registry.operators import Operator, Role, format_ranges
from center.root.home import RootHome, trial_root_path
from center.registry.inputs import parse_date_end, parse_universe
from center.registry.secretfile import write_public_file, write_secret_file
from crypto import BundleKind
from framing import Reason, parse_card_id

ROLE = "center"
MAX_TRUST_BYTES = 1 << 20  # a root set or key set is a few KB
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
    return CenterHome.open(ctx.home(args, ROLE), lambda: ctx.passphrase("center keys"),
                           db=getattr(args, "db", None))


def _read(path: str, what: str) -> bytes:
    try:
        return sys.stdin.buffer.read(MAX_TRUST_BYTES + 1) if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None


# -- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, ctx) -> int:
    universe = None if args.universe is None else parse_universe(args.universe)
    home_path = ctx.home(args, ROLE, creating=True)
    now, by = ctx.now(), ctx.operator(args)
    check_new_home(home_path, args.db)
    passphrase = ctx.passphrase("the new center keys", confirm=True)
    trial = None
    if args.root_pub is None:
        trial = trial_root_path(home_path)
        if trial.exists():
            raise UsageError(f"{trial} exists: give --root-pub FILE (the root's public root set)")
        RootHome.init(trial, passphrase=lambda: passphrase)
        root_pub = RootHome.open(trial, lambda: passphrase).root_set_bytes(1)
    else:
        root_pub = _read(args.root_pub, "root set")
    with CenterHome.init(home_path, universe, root_pub=root_pub, now=now, by=by,
                         passphrase=passphrase, db=args.db) as home:
        out = {"home": str(home.path), "universe": str(home.universe),
               "keyset_request": str(home.path / REQUEST_FILE)}
        if args.db is not None:
            out["database"] = home.database
        if trial is not None:
            signed = RootHome.open(trial, lambda: passphrase).sign_keyset(
                (home.path / REQUEST_FILE).read_bytes())
            home.import_trust([signed], now=now, by=by)
            out["trial_root"] = str(trial)
            ctx.warn(f"made a root of trust in {trial} (same passphrase) to try things out; a "
                     "production root belongs offline: `hotcast root init` on a machine that "
                     "is not the center, then `hotcast center init --root-pub FILE`")
        ctx.emit(out)
    return 0


def cmd_import_trust(args: argparse.Namespace, ctx) -> int:
    documents = [_read(f, "root set or key set") for f in args.files]
    with _open(args, ctx) as home:
        for done in home.import_trust(documents, now=ctx.now(), by=ctx.operator(args)):
            ctx.emit(out.with_utc(done))
    return 0


def cmd_request_keyset(args: argparse.Namespace, ctx) -> int:
    out.check_out(args.out, allow_stdout=False)
    if not 1 <= args.valid_days <= 3660:
        raise UsageError(f"--valid-days {args.valid_days} must be 1 to 3660")
    retire = tuple(int(t) for t in args.retire_signing.split(",")) if args.retire_signing else ()
    with _open(args, ctx) as home:
        request = home.request_keyset(now=ctx.now(), by=ctx.operator(args),
                                      valid_days=args.valid_days,
                                      new_signing_key=args.new_signing_key,
                                      retire_signing=retire,
                                      retire_masters_below=args.retire_masters_below)
    write_public_file(Path(args.out), request)
    ctx.emit({"out": args.out, "bytes": len(request),
              "next": "hotcast root sign-keyset --request FILE --out KEYSET, then "
                      "hotcast center import-trust KEYSET"})
    return 0


def cmd_revoke(args: argparse.Namespace, ctx) -> int:
    cards = card_texts(args.cards)
    with _open(args, ctx) as home:
        counts = home.revoke(cards, args.reason, now=ctx.now(), by=ctx.operator(args),
                             note=args.note, expires=args.expires)
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
    kind = BundleKind.DELTA if args.delta or args.delta_from is not None else BundleKind.FULL
    if args.out == "-":
        ctx.samples_to_stdout()
    with _open(args, ctx) as home:
        built = home.build(kind, args.delta_from, now=ctx.now(), by=ctx.operator(args),
                           valid_for_s=valid_for_s)
        _write_bundle(ctx, args.out, built.sealed)
        ctx.emit(out.with_utc(built.summary()))
    return 0


def cmd_rotate_master(args: argparse.Namespace, ctx) -> int:
    if args.out:
        out.check_out(args.out, allow_stdout=True)
    valid_for_s = _valid_for_s(args)
    if args.out == "-":
        ctx.samples_to_stdout()
    with _open(args, ctx) as home:
        built = home.rotate_master(now=ctx.now(), by=ctx.operator(args), valid_for_s=valid_for_s)
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
        token = home.issue_token(card_id, valid_until, now=now, by=ctx.operator(args),
                                 note=args.note)
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
        built = home.bundle(args.seq, args.epoch)
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
        status["serve"] = read_serve_status(home.path, now)
    for warning in status["warnings"]:
        ctx.warn(warning)
    if args.table or (args.table is None and sys.stdout.isatty()):
        rows = serve_status_rows(status["serve"])
        width = max(len(k) for k, _ in rows)
        ctx.out.write_text(out.status_table(status)
                           + "".join(f"{k:<{width}}  {v}\n" for k, v in rows))
    else:
        ctx.emit(status)
    return 0


def cmd_migrate(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        source = home.database
        copied = home.migrate(args.to, now=ctx.now(), by=ctx.operator(args))
        for table in copied:
            ctx.emit({"table": table.table, "rows": table.rows, "sha256": table.sha256,
                      "verified": True})
        ctx.emit({"migrated": True, "from": source, "to": home.database,
                  "backup": str(home.path / MIGRATED_FILE)})
    return 0


def _operator_line(op: Operator) -> dict:
    return {"name": op.name, "role": op.role.value, "ranges": format_ranges(op.ranges),
            "created_at": op.created_at, "created_at_utc": out.utc(op.created_at),
            "created_by": op.created_by, "revoked_at": op.revoked_at,
            "revoked_at_utc": out.utc(op.revoked_at), "revoked_by": op.revoked_by}


def cmd_operators_add(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        token = home.add_operator(args.name, args.role, ranges=args.range, now=ctx.now(),
                                  by=ctx.operator(args), note=args.note)
        (made,) = [o for o in home.operators() if o.name == args.name and o.revoked_at is None]
        ctx.emit({**_operator_line(made), "token": token})
    return 0


def cmd_operators_list(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        ctx.emit_many(_operator_line(o) for o in home.operators()
                      if not args.active or o.revoked_at is None)
    return 0


def cmd_operators_revoke(args: argparse.Namespace, ctx) -> int:
    with _open(args, ctx) as home:
        ctx.emit(_operator_line(home.revoke_operator(args.name, now=ctx.now(),
                                                     by=ctx.operator(args), note=args.note)))
    return 0


# -- parsers ------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the registry, key and bundle commands under ``hotcast center``."""
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", help="center home folder (default $HOTCAST_HOME, else ./hotcast-home)")
    home.add_argument("--db", metavar="URL", help="the registry's PostgreSQL database "
                      "(postgresql://USER@HOST/DBNAME): with init, an empty one to make the "
                      "registry in (default: SQLite in the home); elsewhere it must be the one "
                      "the home records (no need to give it)")
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
    p.add_argument("--root-pub", metavar="FILE", help="the offline root's public root set (from "
                   "`hotcast root init --out-pub`); without it a root is made beside the home "
                   "to try things out")
    p = add("import-trust", cmd_import_trust, "import key sets and root rotations the offline "
            "root signed", changes=True)
    p.add_argument("files", nargs="+", metavar="FILE")
    p = add("request-keyset", cmd_request_keyset, "write a key set request for the offline root "
            "(new signing key, wider master id range, renewal)", changes=True)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--valid-days", type=int, default=366, metavar="N",
                   help="validity asked for (default 366)")
    p.add_argument("--new-signing-key", action="store_true", help="make a new signing key; it "
                   "signs once the key set the root makes of this request is imported")
    p.add_argument("--retire-signing", metavar="IDS", help="signing key ids to drop outright, "
                   "not even kept for tokens (a leaked key)")
    p.add_argument("--retire-masters-below", type=int, metavar="ID", help="master key ids "
                   "below this open nothing any more (after a master key leaked; terminals that "
                   "missed the rolls since then need provisioning again)")
    reasons = [r.name.lower() for r in Reason]
    p = add("revoke", cmd_revoke, "put cards on the hot list (- reads card IDs from stdin)",
            changes=True)
    p.add_argument("--reason", default="stolen", type=str.lower, choices=reasons)
    p.add_argument("--note", default="", help="why, for the audit log")
    p.add_argument("--expires", metavar="YYYY-MM", help="the cards' expiry month (default: a "
                   "listed card keeps its own, a new one has none)")
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
    group.add_argument("--delta", action="store_true", help="a delta from the latest full list: "
                       "any terminal holding that list or a later one applies it")
    group.add_argument("--delta-from", type=_seq_arg, metavar="SEQ", help="a delta from list "
                       "bundle SEQ of this epoch (it takes every later list to the new one)")
    p = add("rotate-master", cmd_rotate_master, "roll the master key (within the key set's "
            "range); records the roll bundle", roll_validity, changes=True)
    p.add_argument("--out", metavar="FILE", help="also write the roll bundle here")
    p = add("token", cmd_token, "issue a card validity token", changes=True)
    p.add_argument("card", metavar="CARD")
    p.add_argument("--valid-until", required=True, metavar="YYYY-MM-DD", help="valid through this UTC day")
    p.add_argument("--out", metavar="FILE", help="also write the raw token bytes here")
    p.add_argument("--note", default="", help="why, for the audit log")
    add("history", cmd_history, "print the built bundles as JSON lines")
    p = add("audit", cmd_audit, "print the audit log as JSON lines")
    p.add_argument("--card", metavar="CARD", help="only rows about this card")
    p.add_argument("--since", metavar="TIME", help="only rows at or after TIME (unix seconds, "
                   "YYYY-MM-DD or an ISO 8601 UTC time)")
    p.add_argument("--action", metavar="NAME", help="only rows of this action (revoke, build, ...)")
    p = add("export", cmd_export, "write a recorded bundle to a file", changes=True)
    p.add_argument("seq", type=_seq_arg, metavar="SEQ")
    p.add_argument("--epoch", type=_seq_arg, metavar="E", help="its epoch (default the newest)")
    p.add_argument("--out", required=True, metavar="FILE", help="bundle file, or - for stdout")
    add("carousel", cmd_carousel, "print what goes on air now (rolls, latest full, newer deltas)")
    serve_cli.add_commands(sub)
    p = add("status", cmd_status, "what is on air, its cycle, the list's age and expiry, "
            "warnings, and each channel of a running `center serve`")
    p.add_argument("--profile", default="fm", help="profile whose cycle to show (default fm)")
    p.add_argument("--table", action=argparse.BooleanOptionalAction, default=None,
                   help="a table for people (default on a terminal) or one JSON object")
    p = add("migrate", cmd_migrate, "copy the home's SQLite registry into an empty PostgreSQL "
            "database, verify the copy, and switch the home to it (keys stay in the home)",
            changes=True)
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://USER@HOST/DBNAME "
                   "(leave the password to ~/.pgpass or $PGPASSWORD: the home records the URL)")
    p = sub.add_parser("operators", help="operators and machines of the HTTP service: add "
                       "(prints the token once), list, revoke",
                       description="operators and machines of the HTTP service and their "
                       "bearer tokens (stored as hashes only)")
    actions = p.add_subparsers(dest="operators_command", metavar="ACTION", required=True,
                               parser_class=type(p))
    note = argparse.ArgumentParser(add_help=False)
    note.add_argument("--note", default="", help="why, for the audit log")
    q = actions.add_parser("add", parents=[home, by, note], help="add an operator; prints its "
                           "token once (a JSON line)")
    q.set_defaults(func=cmd_operators_add)
    q.add_argument("--role", required=True, type=str.lower, choices=[r.value for r in Role])
    q.add_argument("--range", action="append", metavar="LO-HI", help="a card ID range an "
                   "issuer may report and reinstate (repeat for more; issuers only)")
    q.add_argument("name", metavar="NAME")
    q = actions.add_parser("list", parents=[home], help="every operator ever added, revoked "
                           "ones too, as JSON lines (never tokens)")
    q.set_defaults(func=cmd_operators_list)
    q.add_argument("--active", action="store_true", help="only those not revoked")
    q = actions.add_parser("revoke", parents=[home, by, note], help="revoke an operator: its "
                           "token opens nothing from now on")
    q.set_defaults(func=cmd_operators_revoke)
    q.add_argument("name", metavar="NAME")
