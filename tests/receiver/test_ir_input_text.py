"""The receiver's `.ir` reader (bytes -> durations, receiver/radio/_device_base.py): any cut of
the bytes gives what modem.irtext's whole-text parser gives; truncation, bad lines, bytes that
are not UTF-8 and endless lines are named, never crashes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.irtext import IrTextError, parse_ir_text
from receiver.radio._device_base import MAX_IR_LINE_BYTES, IrTextBytesDecoder


def read(data: bytes, cuts: list[int] | None = None) -> tuple[np.ndarray, IrTextBytesDecoder]:
    dec = IrTextBytesDecoder()
    edges = [0, *sorted(c for c in (cuts or []) if 0 < c < len(data)), len(data)]
    parts = [dec.process(data[a:b]) for a, b in zip(edges, edges[1:])] + [dec.flush()]
    return np.concatenate(parts), dec


_LINE = st.one_of(
    st.builds(lambda w, n: f"{w} {n}", st.sampled_from(["pulse", "space", "timeout", "carrier"]),
              st.integers(1, 20_000)),
    st.lists(st.builds(lambda s, n: f"{s}{n}", st.sampled_from("+-"), st.integers(1, 20_000)),
             min_size=1, max_size=8).map(" ".join),
    st.sampled_from(["", "# a comment: µs ✓", "  ", "scancode 0x1234", "space 16777215"]),
)


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(_LINE, max_size=40), newline=st.sampled_from(["\n", "\r\n"]),
       final=st.booleans(), cuts=st.lists(st.integers(0, 2_000), max_size=30))
def test_any_cut_gives_what_the_whole_text_parser_gives(lines, newline, final, cuts):
    text = newline.join(lines) + (newline if final else "")
    data = text.encode()
    whole, dec = read(data)
    cut, _ = read(data, cuts)
    expected, _ = parse_ir_text(text)
    np.testing.assert_array_equal(cut, whole)
    np.testing.assert_array_equal(whole, expected)
    assert dec.microseconds == int(np.abs(expected.astype(np.int64)).sum()) and dec.leftover_bytes == 0


def test_a_line_cut_off_mid_word_is_dropped_and_counted():
    out, dec = read(b"pulse 560\nspace 560\npulse 560\nspa")
    np.testing.assert_array_equal(out, [560, -560, 560])
    assert dec.leftover_bytes == 3
    out, dec = read(b"pulse 560\nspace 56")  # a number cut short is still a number
    np.testing.assert_array_equal(out, [560, -56])
    assert dec.leftover_bytes == 0


@pytest.mark.parametrize("data, line, why", [
    (b"pulse 1\nspace 2\npulse \xff\xfe\n", 3, r"'pulse' needs one positive integer"),
    (b"# caf\xc3\xa9\npulse 1\nspace x\n", 3, r"'space' needs one positive integer, got 'space x'"),
    (b"+1 -2\n+3 =4\n", 2, r"cannot read '=4'"),
])
def test_a_bad_line_is_named_however_the_bytes_are_cut(data, line, why):
    for cuts in ([], list(range(len(data))), [5, 9]):
        with pytest.raises(IrTextError, match=rf"line {line}: {why}"):
            read(data, cuts)


def test_bytes_that_are_not_utf8_in_a_comment_are_harmless():
    out, _ = read(b"# recorded \xff\xfe by a tool\npulse 100\nspace 200\npulse 300\n", [12, 13])
    np.testing.assert_array_equal(out, [100, -200, 300])


@pytest.mark.parametrize("cuts", [[], [1000], list(range(0, 70_000, 4096))])
def test_an_endless_line_is_refused_naming_it(cuts):
    data = b"pulse 1\nspace 2\n" + b"+1 -1 " * (MAX_IR_LINE_BYTES // 6 + 10)
    with pytest.raises(IrTextError, match=rf"line 3: longer than {MAX_IR_LINE_BYTES} bytes"):
        read(data, cuts)
