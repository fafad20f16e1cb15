"""Rates and frequencies as SDR users write them (parse_hz) and as people read them (format_hz)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.errors import SampleRateError
from modem.rates import MAX_HZ, MIN_HZ, format_hz, parse_hz, same_hz


@pytest.mark.parametrize("text, hz", [
    ("228k", 228_000.0), ("1.2M", 1_200_000.0), ("2.048M", 2_048_000.0), ("192000", 192_000.0),
    ("89.1M", 89_100_000.0), ("2.4m", 2_400_000.0), ("1G", 1e9), ("48 kHz", 48_000.0),
    ("1.2 MHz", 1_200_000.0), ("  44100  ", 44_100.0), ("2.4e6", 2_400_000.0), (".5k", 500.0),
    ("250k", 250_000.0), ("1000000.026", 1_000_000.026), ("+8000", 8000.0), ("96KHZ", 96_000.0),
])
def test_rates_as_sdr_users_write_them(text, hz):
    assert parse_hz(text) == hz


def test_decimal_scaling_is_exact():
    """1.001 * 1e6 in binary floating point is 1000999.9999999999; the parser scales in decimal."""
    assert 1.001 * 1e6 != 1_001_000.0 and parse_hz("1.001M") == 1_001_000.0


@pytest.mark.parametrize("text, match", [
    ("1e400", "above"), ("1" + "0" * 60, "above"), ("1e99999", "not a sensible"), ("-5", "negative"),
    ("-228k", "negative"), ("0", "zero"), ("0.0M", "zero"), ("-0", "zero"), ("0.1", "below"),
    ("nan", "not a number"), ("inf", "not a number"), ("Infinity", "not a number"),
    ("", "not a number"), ("abc", "not a number"), ("1_000", "not a number"),
    ("1,2M", "not a number"), ("\uff11\uff12", "not a number"), ("1.2.3", "not a number"),
    ("1.2MM", "not a number"), ("0x10", "not a number"), ("1e", "not a number"),
    ("9" * 100, "not a number"),
])
def test_garbage_and_absurd_rates_are_refused_naming_the_text(text, match):
    with pytest.raises(SampleRateError, match=match) as caught:
        parse_hz(text)
    assert repr(text[:20])[:-1] in str(caught.value)


def test_parse_hz_takes_text_only():
    with pytest.raises(TypeError, match="text"):
        parse_hz(228_000)


@pytest.mark.parametrize("hz, text", [
    (1_200_000, "1.2 MHz"), (228_000, "228 kHz"), (48_000, "48 kHz"), (89_100_000, "89.1 MHz"),
    (2_048_000, "2.048 MHz"), (1_000_000.026, "1.000000026 MHz"), (999, "999 Hz"), (0, "0 Hz"),
    (1e9, "1 GHz"), (MAX_HZ, "1000 GHz"), (-1500, "-1.5 kHz"), (0.25, "0.25 Hz"),
])
def test_format_hz_for_people(hz, text):
    assert format_hz(hz) == text


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_format_hz_refuses_non_finite(bad):
    with pytest.raises(ValueError, match="finite"):
        format_hz(bad)


@given(st.floats(min_value=MIN_HZ, max_value=MAX_HZ))
def test_print_then_parse_is_identity(hz):
    text = format_hz(hz)
    assert "e" not in text and parse_hz(text) == hz


@given(st.text(max_size=80))
def test_any_text_parses_into_range_or_raises_sample_rate_error(text):
    try:
        hz = parse_hz(text)
    except SampleRateError:
        return
    assert math.isfinite(hz) and MIN_HZ <= hz <= MAX_HZ


def test_same_hz_is_one_ppm():
    assert same_hz(1_000_000.0, 1_000_000.026) and not same_hz(240e3, 250e3)
