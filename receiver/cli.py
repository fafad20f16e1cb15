"""Command line of the terminal side: ``hotcast terminal ...`` (and, later, ``receiver``).

``hotcast/cli.py`` calls ``main(argv)`` with argv starting at the group word. Groups are
looked up in ``GROUPS``; this is the one registration point (the ``receiver`` group of
``receiver/cli_receiver.py`` is added to it when that module lands, by an ordinary import
at the top of this file).

Invariants (CONTRACT.md): output for programs is JSON lines on stdout, messages on stderr;
exit 0 done, 2 bad usage or bad input with nothing changed (a bundle that fails
verification or is refused counts as bad input; ``terminal apply`` applies all its files in
one transaction, so one refused file leaves the store as it was), 1 any other failure. All
input is validated before anything changes. Only this module reads the clock
(``time.time()``, or ``$HOTCAST_NOW`` unix seconds when set, for reproducible runs, as the
center's command line does).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from crypto import MAX_BUNDLE_BYTES, BundleError, KeyFileError, TerminalKeys

from .card import parse_card_id
from .cli_common import DEFAULT_HOME, emit, home_path, now_s, open_store, run_command
from .cli_receiver import receiver_main
from .checks import check_card
from .errors import BundleRefusedError, CardIdError, StoreError, UsageError
from .store import TerminalStore

def _read_input(name: str, what: str, limit_bytes: int = MAX_BUNDLE_BYTES) -> bytes:
    """The bytes of file ``name`` (``-``: standard input), at most ``limit_bytes`` + 1 of them.

    The one extra byte lets the parser refuse an oversized input by its own size check
    without this function ever holding more than the limit (endless data, TUF).
    """
    try:
        if name == "-":
            return sys.stdin.buffer.read(limit_bytes + 1)
        with open(name, "rb") as f:
            return f.read(limit_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {name!r}: {exc.strerror or exc}") from None


def _cmd_init(args: argparse.Namespace) -> int:
    data = _read_input(args.keys, "key file")
    try:
        keys = TerminalKeys.from_bytes(data)
        store = TerminalStore.create(home_path(args), keys)
    except (KeyFileError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    with store:
        emit({"home": str(home_path(args)), "store": str(store.path), **keys.key_ids()})
    return 0


def _cmd_apply(args: argparse.Namespace) -> int:
    bundles = [(name, _read_input(name, "bundle file")) for name in args.files]
    now = now_s()
    with open_store(args) as store:
        try:
            results = store.apply_bundles([data for _, data in bundles], now)
        except (BundleError, BundleRefusedError) as exc:
            name = bundles[exc.bundle_index][0]
            why = f"{type(exc).__name__}: {exc}"
            emit({"file": name, "event": "bundle_rejected", "why": why})
            # All files go in one transaction (in order: a delta needs the list before it).
            rest = f" (none of the {len(bundles)} files applied)" if len(bundles) > 1 else ""
            raise UsageError(f"{name}: rejected: {why}; store unchanged{rest}") from None
    for (name, _), result in zip(bundles, results):
        event = "bundle_applied" if result.applied else "bundle_unchanged"
        emit({"file": name, "event": event, "seq": result.seq, "kind": result.kind_name,
               "entries": result.entries})
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        card_ids = [parse_card_id(text) for text in args.cards]
    except CardIdError as exc:
        raise UsageError(str(exc)) from None
    now = now_s()
    with open_store(args) as store:
        for card_id in card_ids:
            emit(check_card(store, card_id, now).to_json())
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    now = now_s()
    with open_store(args) as store:
        state = store.state()
        sales, sales_total_minor = store.sales_summary()
        emit({
            "home": str(home_path(args)),
            "list_seq": state.seq,
            "kind": state.kind.name.lower() if state.kind else None,
            "entries": state.entries,
            "created_at": state.created_at or None,
            "applied_at": state.applied_at or None,
            "valid_until": state.valid_until or None,
            "stale": state.is_stale(now),
            "universe": str(state.universe) if state.universe else None,
            "key_roll_seq": state.key_roll_seq,
            **store.keys().key_ids(),
            "sales": sales,
            "sales_total_minor": sales_total_minor,
        })
    return 0


def _terminal_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotcast terminal",
                                     description="The terminal's hot-list store and checks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, helptext: str, func: Callable[[argparse.Namespace], int]):
        cmd = sub.add_parser(name, help=helptext, description=helptext)
        cmd.add_argument("--home", help="terminal home (default $HOTCAST_HOME, else "
                                        f"{DEFAULT_HOME})")
        cmd.set_defaults(func=func)
        return cmd

    add("init", "create a terminal store from provisioned key material",
        _cmd_init).add_argument("--keys", required=True, metavar="FILE",
                                help="terminal key file from `hotcast center provision` (- = stdin)")
    add("apply", "verify and apply bundle files, each all-or-nothing; a JSON line per file",
        _cmd_apply).add_argument("files", nargs="+", metavar="FILE")
    add("check", "check card IDs against the hot list; a JSON line per card",
        _cmd_check).add_argument("cards", nargs="+", metavar="CARD")
    add("status", "show the list held, its freshness and the key ids", _cmd_status)
    return parser


def terminal_main(argv: list[str]) -> int:
    return run_command("terminal", _terminal_parser(), argv)


GroupMain = Callable[[list[str]], int]

# The registration point: group word -> its main(argv after the group word) -> exit status.
GROUPS: dict[str, GroupMain] = {
    "terminal": terminal_main,
    "receiver": receiver_main,
}


def main(argv: list[str]) -> int:
    """Entry for ``hotcast/cli.py``: ``argv[0]`` is the group word (``terminal``, ...)."""
    if not argv or argv[0] not in GROUPS:
        got = repr(argv[0]) if argv else "nothing"
        print(f"hotcast: expected one of {', '.join(sorted(GROUPS))}, got {got}", file=sys.stderr)
        return 2
    return GROUPS[argv[0]](list(argv[1:]))
