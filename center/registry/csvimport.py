"""Parse and validate a hot-card CSV import, all or nothing.

Format, one card per line: ``card_id,reason[,expires]`` where ``reason`` is one of
stolen|lost|fraud|other (any case) and ``expires`` is ``YYYY-MM`` or empty. A header line is
skipped whatever its column names: the first non-blank line is a header when its first field is
not a card ID and its second is not a reason (``card_id,reason,expires``, ``PAN;why`` ...). Blank
lines are skipped; a UTF-8 byte-order mark is tolerated. Fields may be quoted (RFC 4180, via the
``csv`` module). An expiry month before the import's own month is refused: such a card cannot
pay anyway, and a typo in the year should not pass silently.

Invariants:
* ``parse_csv`` either returns every row (as a sorted ``HotList``) or raises ``CsvImportError``
  with the 1-based line number of the first bad row in file order; the caller writes nothing
  until it returns.
* Refused: wrong field count, card IDs that are not 1..19 ASCII digits (so 20-digit IDs and
  anything >= 2**64 too), IDs outside the universe, a card on two rows, unknown reasons, bad
  months.
* One tight loop per row (csv's C reader, dict look-ups for reasons and months), then numpy
  for the universe and duplicate checks: about 1 µs of Python per row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from center.errors import CsvImportError
from center.registry.inputs import REASON_BY_NAME, month_code_at, parse_expiry
from framing import CardIdError, HotList, Universe, month_of, parse_card_id


@dataclass(frozen=True, eq=False)
class _Rows:
    """Validated rows in file order: ``ids`` uint64, ``reasons`` uint8, ``expiry`` uint16 (n,)."""

    ids: np.ndarray
    reasons: np.ndarray
    expiry: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def sorted(self) -> HotList:
        """The rows as a hot list in card order (ids are unique once validated)."""
        order = np.argsort(self.ids, kind="stable")
        return HotList(self.ids[order], self.reasons[order], self.expiry[order])


def decode_csv_bytes(data: bytes) -> str:
    """Decode file bytes as UTF-8 (BOM allowed), naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportError(line, f"not UTF-8 text (byte {exc.start})") from None


def parse_csv(text: str, universe: Universe, now: int) -> HotList:
    """Parse CSV ``text`` into a validated hot list (in card order); ``CsvImportError`` naming
    the line of the first bad row. Expiry months before ``now``'s UTC month are refused."""
    if text.startswith("\ufeff"):
        text = text[1:]
    ids: list[int] = []
    reasons: list[int] = []
    expiry: list[int] = []
    lines: list[int] = []
    reason_codes = {name: int(r) for name, r in REASON_BY_NAME.items()}
    month_cache: dict[str, int] = {"": 0}
    this_month = month_code_at(now)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    first = True
    last = 0  # physical line where the previous row ended; a row starts on the next one
    try:
        for row in reader:
            line, last = last + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if first:
                first = False
                if _is_header(row, reason_codes):
                    continue
            if not 2 <= len(row) <= 3:
                raise CsvImportError(
                    line, f"want card_id,reason[,expires] but got {len(row)} fields: {row!r}"
                )
            try:
                card_id = parse_card_id(row[0].strip())
            except CardIdError as exc:
                raise CsvImportError(line, str(exc)) from None
            reason = reason_codes.get(row[1].strip().lower())
            if reason is None:
                raise CsvImportError(
                    line, f"unknown reason {row[1]!r}: want one of {'|'.join(reason_codes)}"
                )
            month_text = row[2].strip() if len(row) == 3 else ""
            month = month_cache.get(month_text)
            if month is None:
                try:
                    month = parse_expiry(month_text)
                except ValueError as exc:
                    raise CsvImportError(line, str(exc)) from None
                if month and month < this_month:
                    year, mon = month_of(this_month)
                    raise CsvImportError(line, f"expiry month {month_text} is in the past "
                                               f"(it is {year:04d}-{mon:02d} now)")
                month_cache[month_text] = month
            ids.append(card_id)
            reasons.append(reason)
            expiry.append(month)
            lines.append(line)
    except csv.Error as exc:
        row_error = CsvImportError(last + 1, f"malformed CSV: {exc}")
    except CsvImportError as exc:
        row_error = exc
    else:
        row_error = None
    rows = _Rows(
        ids=np.array(ids, dtype=np.uint64),
        reasons=np.array(reasons, dtype=np.uint8),
        expiry=np.array(expiry, dtype=np.uint16),
    )
    # The rows kept so far all precede a row error, so an array error among them comes first.
    line_numbers = np.array(lines, dtype=np.int64)
    found = [e for e in (_universe_error(rows, line_numbers, universe),
                         _duplicate_error(rows, line_numbers)) if e is not None]
    if found:
        raise min(found, key=lambda e: e.line)
    if row_error is not None:
        raise row_error
    return rows.sorted()


def _is_header(row: list[str], reason_codes: dict[str, int]) -> bool:
    """A first row that names columns: its first field is no card ID and its second no reason."""
    try:
        parse_card_id(row[0].strip())
        return False
    except CardIdError:
        return len(row) < 2 or row[1].strip().lower() not in reason_codes


def _universe_error(
    rows: _Rows, lines: np.ndarray, universe: Universe
) -> CsvImportError | None:
    inside = universe.contains(rows.ids)
    if inside.all():
        return None
    k = int(np.flatnonzero(~inside)[0])
    return CsvImportError(
        int(lines[k]), f"card ID {int(rows.ids[k])} is outside the universe {universe}"
    )


def _duplicate_error(rows: _Rows, lines: np.ndarray) -> CsvImportError | None:
    if len(rows) < 2:
        return None
    order = np.argsort(rows.ids, kind="stable")
    sorted_ids = rows.ids[order]
    repeat = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if repeat.size == 0:
        return None
    # Report the repeat that comes first in the file: the later row of each equal pair.
    later = order[repeat + 1]
    k = int(later[np.argmin(lines[later])])
    card = int(rows.ids[k])
    earlier = int(lines[order[np.searchsorted(sorted_ids, rows.ids[k])]])
    return CsvImportError(int(lines[k]), f"card ID {card} repeats line {earlier}")
