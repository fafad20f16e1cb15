"""``hotcast center ...``: the operator's command line over ``CenterHome``.

Exit status (shared/CONTRACT.md): 0 done; 2 bad usage or bad input, one line on stderr and
nothing changed; 1 any other failure. Output meant for programs is JSON lines on stdout; card
IDs are JSON strings (they exceed the 2**53 integers JSON readers keep exactly).

The clock and the environment are read through ``center.cli_common``; the commands that put
signal on air (``render``, ``broadcast``) live in ``center.cli_air``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from center import cli_air
from center import cli_output as out
from center.building import DEFAULT_ROLL_VALID_S, DEFAULT_VALID_S
from center.cli_common import (
    PROG,
    CenterParser,
    UsageError,
    check_out,
    home_path,
    now_s,
    operator,
)
from center.errors import CenterInputError
from center.home import CenterHome
from center.inputs import parse_card_id, parse_date_end, parse_universe
from center.secretfile import write_public_file, write_secret_file
from framing import Reason

def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    try:
        return args.run(args)
    except CenterInputError as exc:
        sys.stderr.write(f"{PROG} {args.command}: {exc}\n")
        return 2
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # the CLI boundary: one line, exit 1 ($HOTCAST_DEBUG: traceback)
        if os.environ.get("HOTCAST_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"{PROG} {args.command}: error: {type(exc).__name__}: {exc}\n")
        return 1


def _valid_for_s(args: argparse.Namespace) -> int:
    hours = args.valid_hours
    if not hours > 0 or hours > 24 * 366 * 10:
        raise UsageError(f"--valid-hours {hours:g} must be above 0 and at most ten years")
    return max(1, round(hours * 3600))  # 3600 s per hour


def _seq_arg(text: str) -> int:
    """argparse type of a sequence number: ASCII digits, 1 .. 2**63 - 1.

    Headers carry u64 sequence numbers, but the registry keeps them as SQLite's signed 64-bit
    INTEGER and counts up from 1, so no bundle ever has a larger one.
    """
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"bad sequence number {text!r}: want 1 to 2**63-1")
    return int(text)


def _write_bundle(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_public_file(Path(path), data)


# -- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    universe = None if args.universe is None else parse_universe(args.universe)
    with CenterHome.init(home_path(args), universe, now=now_s(), by=operator(args)) as home:
        out.json_line({"home": str(home.path), "universe": str(home.universe)})
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        counts = home.revoke(args.cards, args.reason, now=now_s(), by=operator(args),
                             note=args.note)
        out.json_line(out.counts(counts, home.count()))
    return 0


def cmd_reinstate(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        n = home.reinstate(args.cards, now=now_s(), by=operator(args), note=args.note)
        out.json_line({"reinstated": n, "entries": home.count()})
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        try:
            data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.file!r}: {exc.strerror}") from None
        result = home.import_csv(data, now=now_s(), by=operator(args), note=f"from {args.file}")
        out.json_line({"rows": result.rows, **out.counts(result.counts, home.count())})
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        out.write_entries(home.list_entries())
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    check_out(args.out, allow_stdout=False)
    with CenterHome.open(home_path(args)) as home:
        data = home.provision(now=now_s(), by=operator(args), note=f"to {args.out}")
        write_secret_file(Path(args.out), data)
        out.json_line({"out": args.out, "bytes": len(data)})
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    check_out(args.out, allow_stdout=True)
    valid_for_s = _valid_for_s(args)
    kind = "full" if args.delta_from is None else "delta"
    with CenterHome.open(home_path(args)) as home:
        built = home.build(kind, args.delta_from, now=now_s(), by=operator(args),
                           valid_for_s=valid_for_s)
        _write_bundle(args.out, built.sealed)
        out.json_line(built.summary(), to_stderr=args.out == "-")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    if args.out:
        check_out(args.out, allow_stdout=True)
    valid_for_s = _valid_for_s(args)
    with CenterHome.open(home_path(args)) as home:
        rotate = home.rotate_master if args.command == "rotate-master" else home.rotate_signing
        built = rotate(now=now_s(), by=operator(args), valid_for_s=valid_for_s)
        if args.out:
            _write_bundle(args.out, built.sealed)
        out.json_line({**built.summary(), "new_key_id": built.announces_key},
                      to_stderr=args.out == "-")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    try:
        valid_until = parse_date_end(args.valid_until)
    except ValueError as exc:
        raise UsageError(f"--valid-until: {exc}") from None
    now = now_s()
    if valid_until < now:
        raise UsageError(f"--valid-until {args.valid_until} is in the past")
    if args.out:
        check_out(args.out, allow_stdout=False)
    card_id = parse_card_id(args.card)
    with CenterHome.open(home_path(args)) as home:
        token = home.issue_token(card_id, valid_until, now=now, by=operator(args))
    if args.out:
        write_public_file(Path(args.out), token)
    out.json_line({"card": str(card_id), "valid_until": valid_until, "token": token.hex()})
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        out.write_lines(home.history())
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        out.write_lines(out.audit_row(r) for r in home.audit_log())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    check_out(args.out, allow_stdout=True)
    with CenterHome.open(home_path(args)) as home:
        built = home.bundle(args.seq)
        _write_bundle(args.out, built.sealed)
        out.json_line(built.summary(), to_stderr=args.out == "-")
    return 0


def cmd_carousel(args: argparse.Namespace) -> int:
    with CenterHome.open(home_path(args)) as home:
        out.write_lines(b.summary() for b in home.carousel(now_s()))
    return 0


# -- parser -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="center home folder (default $HOTCAST_HOME, else ./hotcast-home)")
    common.add_argument("--by", help="operator name for the audit log (default $HOTCAST_OPERATOR, else login)")
    validity = argparse.ArgumentParser(add_help=False)
    validity.add_argument("--valid-hours", type=float, default=DEFAULT_VALID_S / 3600,
                          help="bundle validity after creation, hours (default 24)")
    roll_validity = argparse.ArgumentParser(add_help=False)
    roll_validity.add_argument("--valid-hours", type=float, default=DEFAULT_ROLL_VALID_S / 3600,
                               help="roll bundle validity, hours (default 8784, a year: rolls "
                               "stay on air for terminals that were away)")
    parser = CenterParser(prog=PROG, description="The center: registry, keys, bundles.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str, *parents) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common, *parents], help=help_text, description=help_text)
        p.set_defaults(run=func)
        return p

    p = add("init", cmd_init, "create a center home with fresh keys")
    p.add_argument("--universe", help="card ID ranges LO-HI[,LO-HI...] (default 0-9999999999999999999)")
    reasons = [r.name.lower() for r in Reason]
    p = add("revoke", cmd_revoke, "put cards on the hot list")
    p.add_argument("--reason", default="stolen", type=str.lower, choices=reasons)
    p.add_argument("--note", default="", help="why, for the audit log")
    p.add_argument("cards", nargs="+", metavar="CARD")
    p = add("reinstate", cmd_reinstate, "take cards off the hot list")
    p.add_argument("--note", default="", help="why, for the audit log")
    p.add_argument("cards", nargs="+", metavar="CARD")
    p = add("import", cmd_import, "import card_id,reason[,expires YYYY-MM] rows, all or nothing")
    p.add_argument("file", metavar="FILE.csv", help="CSV file, or - for standard input")
    add("list", cmd_list, "print the hot list as JSON lines")
    p = add("provision", cmd_provision, "write key material for one terminal (mode 0600)")
    p.add_argument("--out", required=True, metavar="FILE")
    p = add("build", cmd_build, "build and record a full or delta bundle", validity)
    p.add_argument("--out", required=True, metavar="FILE", help="bundle file, or - for stdout")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="a full list (the default)")
    group.add_argument("--delta-from", type=_seq_arg, metavar="SEQ", help="a delta from list bundle SEQ")
    for name, what in (("rotate-master", "master key"), ("rotate-signing", "signing key")):
        p = add(name, cmd_rotate, f"roll the {what}; records the roll bundle", roll_validity)
        p.add_argument("--out", metavar="FILE", help="also write the roll bundle here")
    p = add("token", cmd_token, "issue a card validity token")
    p.add_argument("card", metavar="CARD")
    p.add_argument("--valid-until", required=True, metavar="YYYY-MM-DD", help="valid through this UTC day")
    p.add_argument("--out", metavar="FILE", help="also write the raw token bytes here")
    add("history", cmd_history, "print the built bundles as JSON lines")
    add("audit", cmd_audit, "print the audit log as JSON lines")
    p = add("export", cmd_export, "write a recorded bundle to a file")
    p.add_argument("seq", type=_seq_arg, metavar="SEQ")
    p.add_argument("--out", required=True, metavar="FILE", help="bundle file, or - for stdout")
    add("carousel", cmd_carousel, "print what goes on air now (rolls, latest full, newer deltas)")
    cli_air.add_commands(add)
    return parser


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
