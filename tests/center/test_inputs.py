"""Card ID rule, reasons, months, dates and universes (center.registry.inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from center.errors import CardIdError, ReasonError, UniverseError
from framing import CardIdError as TextCardIdError
from center.registry.inputs import (
    parse_card_id,
    parse_card_ids,
    parse_date_end,
    parse_expiry,
    parse_reason,
    parse_universe,
)
from framing import Reason, Universe, month_of

UNIVERSE = Universe(((0, 10**19 - 1),))


@given(st.integers(min_value=0, max_value=10**19 - 1))
def test_every_19_digit_number_parses(value: int) -> None:
    assert parse_card_id(str(value)) == value


@given(st.integers(min_value=10**19, max_value=2**70))
def test_20_digits_and_more_are_refused(value: int) -> None:
    with pytest.raises(TextCardIdError, match=str(value)):
        parse_card_id(str(value))
    with pytest.raises(CardIdError, match=str(value)):
        parse_card_ids([str(value)], UNIVERSE)


@pytest.mark.parametrize("text", [
    "", "-1", "+1", " 1", "1 ", "1_000", "12a", "0x10", "1.0", "١٢٣", "²", "18446744073709551616",
    "18446744073709551615", "00000000000000000001",
])
def test_not_a_card_id_is_refused_naming_it(text: str) -> None:
    with pytest.raises(TextCardIdError) as info:
        parse_card_id(text)
    assert repr(text) in str(info.value)


def test_leading_zeros_within_19_digits_are_the_same_card() -> None:
    assert parse_card_id("0000123") == 123


def test_card_ids_outside_the_universe_are_refused() -> None:
    small = Universe(((100, 199),))
    assert parse_card_ids(["150", "100", "150"], small).tolist() == [100, 150]
    with pytest.raises(CardIdError, match="card ID 200 is outside the universe 100-199"):
        parse_card_ids(["150", "200"], small)


def test_reasons_parse_in_any_case() -> None:
    assert parse_reason("Stolen") is Reason.STOLEN
    assert parse_reason("fraud") is Reason.FRAUD
    with pytest.raises(ReasonError, match="'borrowed'"):
        parse_reason("borrowed")


@given(st.integers(min_value=2000, max_value=2999), st.integers(min_value=1, max_value=12))
def test_expiry_month_round_trips(year: int, month: int) -> None:
    assert month_of(parse_expiry(f"{year:04d}-{month:02d}")) == (year, month)


@pytest.mark.parametrize("text", ["2027-13", "2027-00", "1999-12", "27-01", "2027-1", "2027/01",
                                  "2027-01-01", "abcd-ef", "3000-01"])
def test_bad_expiry_months_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_expiry(text)


def test_empty_expiry_means_none() -> None:
    assert parse_expiry("") == 0


def test_date_end_is_the_last_second_of_the_utc_day() -> None:
    assert parse_date_end("1970-01-01") == 86_399
    assert parse_date_end("2027-01-31") == 1_801_439_999
    for bad in ("2027-02-30", "2027-1-1", "tomorrow", "20270101"):
        with pytest.raises(ValueError, match="bad date"):
            parse_date_end(bad)


def test_universe_bounds_follow_the_card_rule() -> None:
    assert str(parse_universe("100-199, 500-599")) == "100-199,500-599"
    for bad in ("100", "100-", "-5-7", "1-18446744073709551615", "a-b", "9-3"):
        with pytest.raises(UniverseError):
            parse_universe(bad)


def test_parse_card_ids_returns_sorted_uint64() -> None:
    ids = parse_card_ids(["9999999999999999999", "1"], UNIVERSE)
    assert ids.dtype == np.uint64 and ids.tolist() == [1, 10**19 - 1]
