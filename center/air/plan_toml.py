"""Reading a serve plan's TOML: where each key is (file, line), durations, UTC times.

``tomllib`` parses but keeps no positions, so ``KeyLines`` finds them in the text: it walks the
lines, follows table headers (``[lists]``, ``[[channels]]`` with its running index,
``[channels.policy]`` inside the newest ``[[channels]]``) and records the line of every
``key = value`` under its path, e.g. ``("channels", 1, "output")``. Keys of an inline table
(``output = { kind = "files" }``) and values that span lines (arrays, multi-line strings) take
the line where their key starts. A path with no line of its own (a missing key) falls back to
the line of the table that should hold it, and that to line 1: an error always names a line.

``PlanError`` is the one error of a plan: ``file:line: field: message``; the CLI exits 2.

Invariants: nothing here reads the clock or any file; ``parse_duration`` and ``parse_utc`` are
total over their inputs (a value or ``PlanError``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence

from center.errors import CenterInputError

Path_ = tuple  # a key path: str and int (array-of-tables index) parts

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_INLINE_KEY = re.compile(r"""(?:^|[{,])\s*([A-Za-z0-9_-]+|"[^"]*")\s*=""")
# Units of a duration: "500ms", "90s", "10m", "6h", "30d", "2w" (seconds per unit).
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)\s*$")


class PlanError(CenterInputError):
    """A plan that cannot be used: names the file, the line and the field."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        self.file, self.line, self.field = file, line, field
        super().__init__(f"{file}:{line}: {field}: {message}")


def field_name(path: Sequence) -> str:
    """``("channels", 1, "output", "dir")`` -> ``channels[1].output.dir`` (0-based indices)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


class KeyLines:
    """Key path -> 1-based line in a TOML text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple, int] = {}
        counts: dict[tuple, int] = {}
        table: tuple = ()
        open_multiline: str | None = None
        depth = 0  # brackets of a value spanning lines
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw
            if open_multiline is not None:
                if open_multiline in line:
                    open_multiline = None
                continue
            if depth > 0:
                depth += _bracket_balance(line)
                continue
            array = _ARRAY_HEADER.match(line)
            header = array or _TABLE_HEADER.match(line)
            if header:
                names = _split_dotted(header.group(1))
                table = self._table_path(names, counts, array is not None, number)
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = table + tuple(_split_dotted(key.group(1)))
            self._lines.setdefault(path, number)
            value = line[key.end():]
            for inner in _INLINE_KEY.finditer(value if value.lstrip().startswith("{") else ""):
                self._lines.setdefault(path + (_split_dotted(inner.group(1))[0],), number)
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    open_multiline = quote
            if open_multiline is None:
                depth = max(0, _bracket_balance(value))

    def _table_path(self, names: list[str], counts: dict[tuple, int], array: bool,
                    number: int) -> tuple:
        """The path of a table header: earlier parts that name an array of tables resolve to
        its newest element (TOML's rule for ``[channels.policy]``)."""
        path: tuple = ()
        for i, name in enumerate(names):
            path += (name,)
            last = i == len(names) - 1
            if last and array:
                index = counts.get(path, 0)
                counts[path] = index + 1
                self._lines.setdefault(path, number)
                path += (index,)
            elif path in counts:
                path += (counts[path] - 1,)
        return path

    def line_of(self, path: Sequence) -> int:
        """The line of ``path``, else of the nearest enclosing table that has one, else 1."""
        path = tuple(path)
        while path:
            line = self._lines.get(path)
            if line:
                return line
            path = path[:-1]
        return 1


def _bracket_balance(text: str) -> int:
    """Open minus closed brackets outside strings and comments (for values over lines)."""
    balance, quote = 0, None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            balance += 1
        elif ch in "]}":
            balance -= 1
    return balance


def parse_duration(value: object) -> float:
    """``"90s"``, ``"10m"``, ``"6h"``, ``"30d"``, ``"500ms"``, or a number of seconds -> seconds.
    ValueError (the caller adds file, line and field) for anything else or a negative value."""
    if isinstance(value, bool):
        raise ValueError(f"want a duration such as \"90s\", \"10m\", \"6h\" or \"30d\", got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"want a duration such as \"90s\", \"10m\", \"6h\" or \"30d\", "
                             f"got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"want a duration such as \"90s\", got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be 0 or more seconds, got {value!r}")
    return seconds


def parse_utc(value: object) -> int:
    """A TOML offset date-time (``2026-12-01T00:00:00Z``), an ISO 8601 string with an offset, or
    a date (midnight UTC) -> unix seconds. A local time without offset is refused: a key roll
    must not move with the server's time zone."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"want a UTC time such as 2026-12-01T00:00:00Z, got {value!r}") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset: write it with Z or +HH:MM")
        return int(value.timestamp())
    if isinstance(value, dt.date):
        return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc).timestamp())
    raise ValueError(f"want a UTC time such as 2026-12-01T00:00:00Z, got {value!r}")
