"""What the terminal's two command groups (``terminal`` in ``cli.py``, ``receiver`` in
``cli_receiver.py``) share: JSON-lines output, the home, the clock, the store.

These are the only places in ``receiver`` that read the environment and the clock.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from .errors import StoreError, UsageError
from .store import TerminalStore

DEFAULT_HOME = "./hotcast-home"
# Latest clock value accepted from $HOTCAST_NOW: 9999-12-31T23:59:59Z. Far below 2**63, so a
# validity time added to it still fits the u64 header fields and SQLite's signed integers.
MAX_NOW_S = 253_402_300_799


def emit(obj: dict) -> None:
    """One JSON line on stdout, flushed (a pipe reader sees each event as it happens)."""
    print(json.dumps(obj), flush=True)


def now_s() -> int:
    """Unix seconds: ``$HOTCAST_NOW`` when set (ASCII digits only), else the clock."""
    fixed = os.environ.get("HOTCAST_NOW")
    if fixed is not None:
        if not (fixed.isascii() and fixed.isdigit()) or int(fixed) > MAX_NOW_S:
            raise UsageError(f"$HOTCAST_NOW {fixed!r} is not unix seconds up to year 9999")
        return int(fixed)
    return int(time.time())


def home_path(args: argparse.Namespace) -> Path:
    """``--home``, else ``$HOTCAST_HOME``, else ``./hotcast-home`` (CONTRACT.md)."""
    return Path(args.home or os.environ.get("HOTCAST_HOME") or DEFAULT_HOME)


def open_store(args: argparse.Namespace) -> TerminalStore:
    try:
        return TerminalStore.open(home_path(args))
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def run_command(group: str, parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse ``argv`` and run the chosen command's ``func(args)``; map failures to the exit
    statuses of CONTRACT.md: 2 for usage errors and unusable input (one line on stderr),
    1 for anything else (one line; ``$HOTCAST_DEBUG`` adds the traceback), and a reader of
    stdout that went away (``| head``) ends quietly with 1."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 after a usage message, 0 after --help
        return int(exc.code or 0)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"hotcast {group} {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # the CLI boundary
        if os.environ.get("HOTCAST_DEBUG"):
            traceback.print_exc()
        print(f"hotcast {group} {args.command}: error: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1
