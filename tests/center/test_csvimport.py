"""CSV import parsing: all or nothing, the first bad row named by its line (center.registry.csvimport)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from center.registry.csvimport import decode_csv_bytes, parse_csv
from center.errors import CsvImportError
from framing import Universe, month_code

UNIVERSE = Universe(((0, 10**19 - 1),))
NOW = 1_790_000_000  # 2026-09-21: expiry months before 2026-09 are in the past


def test_rows_with_header_blank_lines_quotes_and_expiry() -> None:
    text = ('card_id,reason,expires\r\n\r\n"42",Stolen,2027-05\n7, lost ,\n'
            '9999999999999999999,fraud\n0,other,2026-09\n')
    rows = parse_csv(text, UNIVERSE, NOW)  # a hot list, in card order
    assert rows.ids.tolist() == [0, 7, 42, 10**19 - 1]
    assert rows.reasons.tolist() == [3, 1, 0, 2]
    assert rows.expiry.tolist() == [month_code(2026, 9), 0, month_code(2027, 5), 0]
    assert rows.ids.dtype == np.uint64 and rows.reasons.dtype == np.uint8
    assert rows.expiry.dtype == np.uint16


def test_empty_input_is_no_rows() -> None:
    assert len(parse_csv("", UNIVERSE, NOW)) == 0
    assert len(parse_csv("card_id,reason\n", UNIVERSE, NOW)) == 0


def test_utf8_bom_is_tolerated_and_bad_bytes_named_by_line() -> None:
    assert len(parse_csv(decode_csv_bytes(b"\xef\xbb\xbfcard_id,reason\n5,lost\n"), UNIVERSE, NOW)) == 1
    with pytest.raises(CsvImportError, match="line 2: not UTF-8"):
        decode_csv_bytes(b"1,lost\n2,lo\xffst\n")


BAD_ROWS = [
    ("12a,stolen", "bad card ID '12a': a card ID is 1 to 19 decimal digits"),
    ("12345678901234567890,stolen", "bad card ID '12345678901234567890'"),
    ("18446744073709551616,stolen", "bad card ID '18446744073709551616'"),
    ("-5,stolen", "bad card ID '-5'"),
    (",stolen", "bad card ID ''"),
    ("5,borrowed", "unknown reason 'borrowed'"),
    ("5,stolen,2027-13", "bad expiry month '2027-13'"),
    ("5,stolen,May 2027", "bad expiry month 'May 2027'"),
    ("5,stolen,2026-08", "expiry month 2026-08 is in the past (it is 2026-09 now)"),
    ("5", "got 1 fields"),
    ("5,stolen,2027-01,extra", "got 4 fields"),
    ('5,"stolen', "malformed CSV"),
]


@pytest.mark.parametrize("row,message", BAD_ROWS)
def test_a_bad_row_is_refused_with_its_line(row: str, message: str) -> None:
    text = f"card_id,reason\n1,stolen\n2,lost\n{row}\n3,fraud\n"
    with pytest.raises(CsvImportError) as info:
        parse_csv(text, UNIVERSE, NOW)
    assert info.value.line == 4
    assert str(info.value).startswith("line 4: ")
    assert message in str(info.value)


@pytest.mark.parametrize("header", ["card_id,reason", "PAN,why,until", '"Card number",Reason',
                                    "carte,motif,fin"])
def test_a_header_row_is_recognised_whatever_its_column_names(header: str) -> None:
    rows = parse_csv(f"{header}\n42,lost\n", UNIVERSE, NOW)
    assert rows.ids.tolist() == [42]


def test_a_first_row_that_is_data_is_not_taken_for_a_header() -> None:
    assert parse_csv("42,lost\n43,stolen\n", UNIVERSE, NOW).ids.tolist() == [42, 43]
    with pytest.raises(CsvImportError, match="line 1: unknown reason 'borrowed'"):
        parse_csv("42,borrowed\n", UNIVERSE, NOW)


def test_outside_universe_is_refused_with_its_line() -> None:
    small = Universe(((100, 199),))
    with pytest.raises(CsvImportError, match="line 3: card ID 200 is outside the universe 100-199"):
        parse_csv("100,stolen\n150,lost\n200,lost\n", small, NOW)


def test_duplicate_rows_name_both_lines() -> None:
    with pytest.raises(CsvImportError, match="line 4: card ID 7 repeats line 2"):
        parse_csv("1,stolen\n7,lost\n3,lost\n7,lost\n", UNIVERSE, NOW)


def test_the_first_bad_line_wins_across_kinds_of_check() -> None:
    # A duplicate on line 3 comes before a bad reason on line 4, though they are found in
    # different passes (the row loop, then the vectorised duplicate check).
    with pytest.raises(CsvImportError, match="line 3: card ID 1 repeats line 1"):
        parse_csv("1,stolen\n2,lost\n1,lost\n4,borrowed\n", UNIVERSE, NOW)
    with pytest.raises(CsvImportError, match="line 2: unknown reason"):
        parse_csv("1,stolen\n2,borrowed\n1,lost\n", UNIVERSE, NOW)


rows_strategy = st.lists(
    st.tuples(st.integers(0, 10**19 - 1), st.sampled_from(["stolen", "lost", "fraud", "other"]),
              st.one_of(st.just(""), st.tuples(st.integers(2027, 2999), st.integers(1, 12)))),
    max_size=40, unique_by=lambda r: r[0],
)


@given(rows_strategy)
def test_valid_rows_round_trip(rows) -> None:
    lines = [f"{c},{r}" + ("" if e == "" else f",{e[0]}-{e[1]:02d}") for c, r, e in rows]
    parsed = parse_csv("\n".join(lines), UNIVERSE, NOW)
    ordered = sorted(rows)
    assert parsed.ids.tolist() == [c for c, _, _ in ordered]
    assert parsed.expiry.tolist() == [0 if e == "" else month_code(*e) for _, _, e in ordered]


@given(rows_strategy.filter(lambda rows: len(rows) > 0), st.data())
def test_one_bad_row_is_always_found_at_its_line(rows, data) -> None:
    lines = [f"{c},{r}" for c, r, _ in rows]
    k = data.draw(st.integers(0, len(lines) - 1))
    lines[k] = data.draw(st.sampled_from([row for row, _ in BAD_ROWS]))
    with pytest.raises(CsvImportError) as info:
        parse_csv("\n".join(lines) + "\n", UNIVERSE, NOW)
    assert info.value.line == k + 1
