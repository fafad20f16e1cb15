"""What the terminal's two command groups (``terminal`` in ``cli.py``, ``receiver`` in
``cli_receiver.py``) share: JSON-lines output, the home, the clock, the store.

These are the only places in ``receiver`` that read the environment and the clock.
"""

from __future__ import annotations

import argparse
import json
import os
import time
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
