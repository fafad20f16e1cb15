"""The one command runner of every ``hotcast`` group: parsing, the environment, output, exits.

Every command is a function ``run(args, ctx) -> int`` registered by its group
(``center.cli``, ``center.air.cli``, ``center.root.cli``, ``receiver.cli``,
``receiver.radio.cli``, ``hotcast.*``). This module is the process boundary, written once:

- Parsing: one argparse tree (``hotcast GROUP COMMAND``), no abbreviated options, usage errors as
  one line on stderr naming the command (``hotcast center build: error: ... (see --help)``).
- The environment, read only here (``Context``): ``$HOTCAST_NOW`` fixes the clock (unix
  seconds), ``$HOTCAST_HOME`` the home, ``$HOTCAST_OPERATOR`` (or ``--by``) the operator,
  ``$HOTCAST_DEBUG`` adds tracebacks.
- Output: JSON lines on stdout through ``ctx.emit`` (flushed per line; to stderr when stdout
  carries samples); a closed stdout (``| head``) stops the printing but never the work: a
  decode goes on applying what it hears.
- Exit status (CONTRACT.md): 0 done; 2 bad usage or bad input (one line on stderr, nothing
  changed); 1 any other failure (one line); 130 on Ctrl-C (one line, no traceback). A full disk
  and an unreadable or unwritable path are named as such.

Home roles: every home holds one role (center, terminal or root), written by its ``init`` into
``ROLE_FILE``; ``ctx.home(args, role)`` refuses a home of another role before the command
touches it.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Context", "HotcastParser", "InputError", "ROLE_FILE", "run_parsed", "read_role"]

DEFAULT_HOME = "hotcast-home"
ROLE_FILE = "hotcast-role"  # one line: "center", "terminal" or "root"
# Files that told a home's role before role files existed (homes made by hotcast 0.1).
_LEGACY_ROLE_FILES = {"registry.sqlite": "center", "terminal.sqlite": "terminal"}
# Latest clock value accepted from $HOTCAST_NOW: 9999-12-31T23:59:59Z. Far below 2**63, so a
# validity time added to it still fits the u64 header fields and SQLite's signed integers.
MAX_NOW_S = 253_402_300_799
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class InputError(Exception):
    """Bad usage or input found by the runner itself (a bad $HOTCAST_NOW, a home of another
    role); exit 2."""


# Exceptions that mean "the user's input was bad, nothing changed": exit 2. Named by module so
# that the runner imports no group (a command loads only its own modules): a class of a module
# that was never imported cannot have been raised, so only loaded modules are asked.
_INPUT_ERRORS = (("center.errors", "CenterInputError"), ("receiver.errors", "UsageError"),
                 ("framing.errors", "CardIdError"))


def input_errors() -> tuple[type[BaseException], ...]:
    """The exit-2 exception classes of the modules loaded so far, with ``InputError``."""
    found: list[type[BaseException]] = [InputError]
    for module, name in _INPUT_ERRORS:
        loaded = sys.modules.get(module)
        if loaded is not None:
            found.append(getattr(loaded, name))
    return tuple(found)


class HotcastParser(argparse.ArgumentParser):
    """argparse with one-line usage errors and no abbreviated long options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def read_role(home: Path) -> str | None:
    """The role of the home at ``home`` (None when it is not a home, or does not exist)."""
    marker = home / ROLE_FILE
    try:
        text = marker.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise InputError(f"cannot read {marker}: {exc.strerror or exc}") from None
    if text:
        return text
    for name, role in _LEGACY_ROLE_FILES.items():
        if (home / name).exists():
            return role
    return None


class JsonLines:
    """JSON lines on a text stream; a closed reader (EPIPE) stops the writing, not the work."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed = False

    def __repr__(self) -> str:
        return f"JsonLines({self.stream!r}, closed={self.closed})"

    def write(self, obj: dict) -> None:
        self.write_text(json.dumps(obj) + "\n")

    def write_many(self, objs: Iterable[dict], chunk_lines: int = 4096) -> None:
        """Many lines in chunks (a million lines stay fast)."""
        encode = json.JSONEncoder().encode
        chunk: list[str] = []
        for obj in objs:
            if self.closed:
                return
            chunk.append(encode(obj))
            if len(chunk) >= chunk_lines:
                self.write_text("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            self.write_text("\n".join(chunk) + "\n")

    def write_text_lines(self, lines: Iterable[str], chunk_lines: int = 4096) -> None:
        """Pre-formatted lines (no newline) in chunks."""
        chunk: list[str] = []
        for line in lines:
            if self.closed:
                return
            chunk.append(line)
            if len(chunk) >= chunk_lines:
                self.write_text("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            self.write_text("\n".join(chunk) + "\n")

    def write_text(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
            # Point the descriptor at /dev/null so the interpreter's exit flush stays quiet.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            except (OSError, ValueError):
                pass


class Context:
    """What a command may know of the world: the clock, the environment, its output."""

    def __init__(self, prog: str, environ: dict[str, str] | None = None,
                 stdout: TextIO | None = None, stderr: TextIO | None = None,
                 started_cpu_s: float | None = None) -> None:
        """``started_cpu_s``: the process CPU time (``time.process_time``) at which the command
        started, for its start-up cost (0.0: at process start); default now."""
        self.prog = prog
        self.started_cpu_s = time.process_time() if started_cpu_s is None else started_cpu_s
        self.environ = dict(os.environ if environ is None else environ)
        self.out = JsonLines(sys.stdout if stdout is None else stdout)
        self.err = sys.stderr if stderr is None else stderr
        self._out_to_stderr = False

    def __repr__(self) -> str:
        return f"Context({self.prog!r})"

    # -- the clock and the environment -----------------------------------------------------
    def now(self) -> int:
        """Unix seconds: ``$HOTCAST_NOW`` when set (ASCII digits only), else the clock."""
        fixed = self.environ.get("HOTCAST_NOW")
        if fixed is not None:
            if not (fixed.isascii() and fixed.isdigit()) or int(fixed) > MAX_NOW_S:
                raise InputError(f"$HOTCAST_NOW {fixed!r} is not unix seconds up to year 9999")
            return int(fixed)
        return int(time.time())

    def monotonic(self) -> float:
        return time.monotonic()

    def home(self, args: argparse.Namespace, role: str, *, creating: bool = False) -> Path:
        """``--home``, else ``$HOTCAST_HOME``, else ``./hotcast-home``; refused when it is a home
        of another role (``creating``: it may not exist yet, and must not be another's)."""
        path = Path(getattr(args, "home", None) or self.environ.get("HOTCAST_HOME") or DEFAULT_HOME)
        found = read_role(path) if path.is_dir() else None
        if found is not None and found != role:
            raise InputError(f"{path} is a {found} home; `{self.prog}` needs a {role} home "
                             f"(give --home, or set $HOTCAST_HOME)")
        if path.is_dir():
            info = path.stat()
            if info.st_uid != os.geteuid():
                raise InputError(f"{path} belongs to another user (uid {info.st_uid}): a home "
                                 "must be its operator's own")
            if found is not None and info.st_mode & 0o077:
                raise InputError(f"{path} can be read or written by other users (mode "
                                 f"{info.st_mode & 0o777:04o}): keys and the list are in it; "
                                 f"fix it with `chmod 700 {path}`")
        return path

    def operator(self, args: argparse.Namespace) -> str:
        """``--by``, else ``$HOTCAST_OPERATOR``, else the login name."""
        if getattr(args, "by", None):
            return args.by
        name = self.environ.get("HOTCAST_OPERATOR")
        if name:
            return name
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    @property
    def debug(self) -> bool:
        return bool(self.environ.get("HOTCAST_DEBUG"))

    def passphrase(self, what: str, *, confirm: bool = False) -> str:
        """``$HOTCAST_PASSPHRASE``, else a prompt on the terminal; InputError without either."""
        text = self.environ.get("HOTCAST_PASSPHRASE")
        if text is not None:
            if not text:
                raise InputError("$HOTCAST_PASSPHRASE is set but empty")
            return text
        if not sys.stdin.isatty():
            raise InputError(f"{what} is encrypted: set $HOTCAST_PASSPHRASE (no terminal to "
                             "ask on)")
        import getpass as _gp  # the prompt reads /dev/tty itself
        first = _gp.getpass(f"passphrase for {what}: ")
        if confirm and _gp.getpass("again: ") != first:
            raise InputError("the two passphrases differ")
        if not first:
            raise InputError("an empty passphrase is not allowed")
        return first

    # -- output ----------------------------------------------------------------------------
    def samples_to_stdout(self) -> None:
        """Stdout carries samples from now on: JSON lines go to stderr."""
        self._out_to_stderr = True
        self.out = JsonLines(self.err)

    def emit(self, obj: dict) -> None:
        """One JSON line (stdout, or stderr when stdout carries samples), flushed."""
        self.out.write(obj)

    def emit_many(self, objs: Iterable[dict]) -> None:
        self.out.write_many(objs)

    def warn(self, message: str) -> None:
        """One warning line on stderr (never a JSON line: people read these)."""
        self.err.write(f"{self.prog}: warning: {message}\n")
        self.err.flush()


def _describe_os_error(exc: OSError) -> tuple[int, str]:
    """(exit status, message) for an OSError that reached the boundary."""
    where = f" {exc.filename!r}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return EXIT_FAILURE, f"disk full writing{where}: free some space and run again"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return EXIT_USAGE, f"permission denied{where}"
    if exc.errno == errno.ENOENT:
        return EXIT_USAGE, f"no such file or folder{where}"
    if exc.errno == errno.EROFS:
        return EXIT_USAGE, f"read-only file system{where}"
    return EXIT_FAILURE, f"{exc.strerror or exc}{where}"


def run_parsed(args: argparse.Namespace, ctx: Context,
               func: Callable[[argparse.Namespace, Context], int]) -> int:
    """Run one command with the exit-status rules of the module docstring."""
    try:
        return int(func(args, ctx) or 0)
    except input_errors() as exc:
        ctx.err.write(f"{ctx.prog}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        ctx.err.write(f"{ctx.prog}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        ctx.out.closed = True
        return EXIT_OK
    except OSError as exc:
        status, message = _describe_os_error(exc)
        if ctx.debug:
            traceback.print_exc(file=ctx.err)
        ctx.err.write(f"{ctx.prog}: error: {message}\n")
        return status
    except Exception as exc:  # the process boundary: one line, exit 1
        if ctx.debug:
            traceback.print_exc(file=ctx.err)
        ctx.err.write(f"{ctx.prog}: error: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILURE
