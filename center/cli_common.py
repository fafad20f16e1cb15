"""What the ``hotcast center`` command modules share: usage errors, the clock, the home, paths.

``cli.py`` (registry, keys, bundles) and ``cli_air.py`` (render, broadcast) are the only center
modules that read the clock (``time.time()``, or ``$HOTCAST_NOW`` unix seconds when set, for
reproducible runs) and the environment (``$HOTCAST_HOME``, ``$HOTCAST_OPERATOR``, else the
login name, for the audit log's "who"); they do it through this module.
"""

from __future__ import annotations

import argparse
import getpass
import os
import time
from pathlib import Path

from center.errors import CenterInputError

PROG = "hotcast center"
# Latest clock value accepted from $HOTCAST_NOW: 9999-12-31T23:59:59Z. Far below 2**63, so a
# validity time added to it still fits the u64 header fields and SQLite's signed integers.
MAX_NOW_S = 253_402_300_799


class UsageError(CenterInputError):
    """A command-line value that argparse cannot check by itself."""


class CenterParser(argparse.ArgumentParser):
    """argparse with a one-line error message (the contract's "message on stderr")."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def now_s() -> int:
    """Unix seconds: ``$HOTCAST_NOW`` when set (ASCII digits only), else the clock."""
    fixed = os.environ.get("HOTCAST_NOW")
    if fixed is not None:
        if not (fixed.isascii() and fixed.isdigit()) or int(fixed) > MAX_NOW_S:
            raise UsageError(f"$HOTCAST_NOW {fixed!r} is not unix seconds up to year 9999")
        return int(fixed)
    return int(time.time())


def operator(args: argparse.Namespace) -> str:
    if args.by:
        return args.by
    name = os.environ.get("HOTCAST_OPERATOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def home_path(args: argparse.Namespace) -> Path:
    return Path(args.home or os.environ.get("HOTCAST_HOME") or "hotcast-home")


def check_out(path: str, allow_stdout: bool) -> None:
    """Refuse an output path whose folder is missing, before anything is built."""
    if path == "-":
        if not allow_stdout:
            raise UsageError("key material is written only to a file, not to standard output")
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise UsageError(f"output folder {str(folder)!r} of {path!r} does not exist")
    if Path(path).is_dir():
        raise UsageError(f"output {path!r} is a folder")
