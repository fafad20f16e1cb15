"""The `.ir` text format: both ir-ctl forms and mode2, errors with line numbers, counts, writing
pulse/space only, round trips, streaming, fuzzing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.ir import IR, IrModulator
from modem.irtext import (ENDLESS_US, MAX_FILE_US, MAX_FILE_VALUES, IrTextDecoder, IrTextError, ir_carousel_files,
                          parse_ir_text, write_ir_text)


def test_one_line_form():
    d, st_ = parse_ir_text("+9000 -4500 +560 -560\n+560 -1690 +560\n")
    assert d.tolist() == [9000, -4500, 560, -560, 560, -1690, 560]


def test_mode2_form_with_timeout_comments_and_endless_space():
    text = ("# recorded with mode2\nspace 16777215\ncarrier 38000\npulse 290\nspace 385\npulse 290 # a comment\n"
            "timeout 125000\npulse 737\nspace 388\npulse 290\n")
    d, s = parse_ir_text(text)
    assert d.tolist() == [290, -385, 290, -125_000, 737, -388, 290]
    assert s.timeouts == 1 and s.endless_spaces == 1 and s.dropped_leading_spaces == 1 and s.ignored_lines == 1


def test_two_pulses_in_a_row_are_joined_and_counted():
    d, s = parse_ir_text("pulse 100\npulse 200\nspace 300\nspace 16777215\npulse 5\n")
    assert d.tolist() == [300, -1_000_000, 5]
    assert s.joined == 2 and s.endless_spaces == 1


@pytest.mark.parametrize("text,line", [("pulse 10\nspace -5\n", 2), ("+10 -0\n", 1), ("pulse ten\n", 1),
                                       ("pulse 10\n\n# x\nbogus 3\n", 4), ("+10 *20\n", 1), ("space 0\n", 1),
                                       ("pulse 10\nspace 99999999999\n", 2)])
def test_unusable_lines_raise_with_their_number(text, line):
    with pytest.raises(IrTextError, match=f"line {line}"):
        parse_ir_text(text)


def test_plain_lines_read_in_one_pass_equal_the_line_by_line_reader():
    """Plain ``pulse N``/``space N``/``timeout N`` text takes a vectorised path; a comment on
    every line sends the same values through the line-by-line reader: same output, same stats."""
    rng = np.random.default_rng(4)
    words = rng.choice(["pulse", "space", "timeout"], 400, p=[0.5, 0.45, 0.05])
    values = rng.choice([1, 290, 5_000, ENDLESS_US, 20_000_000, 2**31 - 1], 400)
    plain = "".join(f"{w} {v}\n" for w, v in zip(words, values))
    commented = "".join(f"{w} {v} # c\n" for w, v in zip(words, values))
    for cut in (7, 100, 10_000):
        got = []
        for text in (plain, commented):
            dec = IrTextDecoder()
            out = [dec.process(text[i : i + cut]) for i in range(0, len(text), cut)]
            got.append((np.concatenate(out + [dec.flush()]).tolist(), dec.stats))
        assert got[0] == got[1]
        assert got[0][1].joined > 0 and got[0][1].endless_spaces > 0 and got[0][1].timeouts > 0


def test_writer_uses_pulse_space_lines_only():
    text = write_ir_text(np.array([290, -385, 737]))
    assert text == "pulse 290\nspace 385\npulse 737\n"
    assert "+" not in text
    with pytest.raises(ValueError):
        write_ir_text(np.array([290, 385]))


@settings(max_examples=50)
@given(st.lists(st.integers(1, 200_000), min_size=1, max_size=60))
def test_write_parse_round_trip(lengths):
    d = np.array(lengths) * np.where(np.arange(len(lengths)) % 2 == 0, 1, -1)
    out, _ = parse_ir_text(write_ir_text(d))
    assert out.tolist() == d.tolist()


@settings(max_examples=30)
@given(st.lists(st.integers(1, 5_000), min_size=2, max_size=80), st.lists(st.integers(0, 400), max_size=10))
def test_streaming_is_chunk_invariant(lengths, cuts):
    d = np.array(lengths) * np.where(np.arange(len(lengths)) % 2 == 0, 1, -1)
    text = "".join(f"+{v} " if v > 0 else f"{v}\n" for v in d.tolist())
    whole, _ = parse_ir_text(text)
    dec = IrTextDecoder()
    points = sorted(set(c % (len(text) + 1) for c in cuts))
    pieces = [text[a:b] for a, b in zip([0] + points, points + [len(text)])]
    out = np.concatenate([dec.process(p) for p in pieces] + [dec.flush()])
    assert out.tolist() == whole.tolist()


@settings(max_examples=200)
@given(st.text(alphabet="+-0123456789 pulsecatimoxyz#\n\t", max_size=200))
def test_fuzz_never_crashes_and_output_alternates(text):
    try:
        d, s = parse_ir_text(text)
    except IrTextError as exc:
        assert "line " in str(exc)
        return
    assert np.all(d != 0)
    assert np.all(np.sign(d[1:]) != np.sign(d[:-1]))
    assert len(d) == 0 or d[0] > 0


def test_carousel_files_respect_ir_ctl_limits():
    mod = IrModulator(IR)
    bits = np.random.default_rng(1).integers(0, 2, 48 * 300).astype(np.uint8)
    d = np.concatenate((mod.process(bits), mod.flush()))
    files = ir_carousel_files(d)
    assert len(files) >= 3
    total = []
    for text in files:
        f, _ = parse_ir_text(text)
        assert len(f) <= MAX_FILE_VALUES and np.sum(np.abs(f)) <= MAX_FILE_US
        assert f[0] > 0 and f[-1] > 0 and f[0] == IR.sync_mark_us
        total.append(f[:-1])  # the terminator stands where the next file's sync starts
    assert np.concatenate(total).tolist() == d[:-1].tolist()
    assert ENDLESS_US == 0xFFFFFF
