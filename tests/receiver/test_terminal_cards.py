"""The IC card model, the simulated reader, and the purse and POS terminal logic."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import issue_token
from framing import HotList
from framing import CardIdError, parse_card_id
from receiver.payment.card import ICCard
from receiver.payment.checks import TerminalPolicy, check_card, screen_card
from receiver.errors import CardError, CardLockedError
from receiver.payment.reader import SimulatedReader
from receiver.payment.terminal import (
    INSUFFICIENT,
    PAID,
    REFUSED,
    REMITTED,
    SHOWN,
    STALE_OVER_FLOOR,
    PosTerminal,
    PurseTerminal,
)
from terminal_helpers import DAY_S, NOW

STOLEN_ID = 4000000000000007
LOST_ID = 4000000000000009
GOOD_A, GOOD_B = 4000000000000100, 4000000000000200


@pytest.fixture
def live(store, sim):
    """A fresh store listing STOLEN_ID (stolen) and LOST_ID (lost)."""
    hot = HotList(ids=np.array([STOLEN_ID, LOST_ID], dtype=np.uint64),
                  reasons=np.array([0, 1], dtype=np.uint8), expiry=np.zeros(2, np.uint16))
    store.apply_bundle(sim.full(hot, seq=12), NOW)
    return store


@pytest.fixture
def center(sim):
    """The simulated center's online keys, as they are now (they sign card tokens)."""
    return sim.keys


def card(center, card_id, balance=1000, token_valid_until=NOW + 30 * DAY_S):
    token = None if token_valid_until is None else issue_token(card_id, token_valid_until, center)
    return ICCard(card_id, balance, token)


def inserted(c):
    reader = SimulatedReader()
    reader.insert(c)
    return reader


# -- card IDs and the card model --------------------------------------------------------

@pytest.mark.parametrize("text", ["", "-1", "+5", " 5", "5 ", "1_000", "12a", "١٢٣",
                                  "18446744073709551616", "99999999999999999999", "1.0"])
def test_bad_card_id_names_the_value(text):
    with pytest.raises(CardIdError) as info:
        parse_card_id(text)
    assert repr(text) in str(info.value)


@given(st.integers(min_value=0, max_value=10**19 - 1))
def test_card_id_roundtrip(value):
    assert parse_card_id(str(value)) == value


def test_card_id_limits():
    assert parse_card_id("0000000000000000001") == 1
    assert parse_card_id("9999999999999999999") == 10**19 - 1
    with pytest.raises(CardIdError):
        parse_card_id("18446744073709551615")  # a u64, but 20 digits


def test_locked_card_gives_and_takes_no_money():
    c = ICCard(1, 500)
    c.lock_out()
    for op in (c.debit, c.credit):
        with pytest.raises(CardLockedError):
            op(10, NOW, "payment", None)
    assert c.balance_minor == 500 and c.history == ()


def test_card_never_goes_negative():
    c = ICCard(1, 5)
    with pytest.raises(CardError, match="balance"):
        c.debit(6, NOW, "payment", None)
    assert c.balance_minor == 5 and c.history == ()


def test_reader_slot_rules():
    reader = SimulatedReader("a")
    with pytest.raises(CardError, match="no card"):
        reader.read_id()
    reader.insert(ICCard(1))
    with pytest.raises(CardError, match="already"):
        reader.insert(ICCard(2))
    reader.eject()
    assert not reader.has_card() and reader.ejected[0].card_id == 1


# -- list checks ------------------------------------------------------------------------

def test_check_card_verdicts_match_contract(live):
    assert check_card(live, STOLEN_ID, NOW).to_json() == {
        "card": str(STOLEN_ID), "verdict": "refuse", "reason": "stolen", "list_seq": 12,
        "stale": False}
    assert check_card(live, GOOD_A, NOW).to_json() == {
        "card": str(GOOD_A), "verdict": "accept", "reason": None, "list_seq": 12, "stale": False}


def test_every_verdict_says_stale_past_valid_until_and_why(live):
    later = NOW + DAY_S + 1
    for card_id in (STOLEN_ID, GOOD_A):
        v = check_card(live, card_id, later)
        assert v.stale and v.stale_why == f"the list expired at {NOW + DAY_S}"
        assert v.to_json()["stale_why"] == v.stale_why


def test_empty_store_is_stale(store):
    v = check_card(store, GOOD_A, NOW)
    assert v.accepted and v.stale and v.list_seq == 0 and v.stale_why == "no list yet"


def test_a_heartbeat_naming_a_newer_list_makes_every_verdict_stale(live, sim):
    sim.full(HotList(ids=np.array([GOOD_A], dtype=np.uint64), reasons=np.zeros(1, np.uint8),
                     expiry=np.zeros(1, np.uint16)))  # seq 13: this terminal misses it
    live.apply_bundle(sim.heartbeat(), NOW)
    v = check_card(live, GOOD_A, NOW)
    assert v.accepted and v.stale and "heartbeat says list seq 13" in v.stale_why


# -- insert-time check ------------------------------------------------------------------

def test_listed_card_is_locked_out_and_ejected_at_insert(live, center):
    c = card(center, STOLEN_ID)
    reader = inserted(c)
    result = PurseTerminal(live).insert(reader, NOW)
    assert result.outcome == REFUSED and "stolen" in result.message
    assert c.locked_out and not reader.has_card()
    with pytest.raises(CardLockedError):
        c.debit(1, NOW, "payment", None)


def test_unlisted_card_shows_balance_and_history(live, center):
    c = card(center, GOOD_A, balance=777)
    reader = inserted(c)
    result = PurseTerminal(live).insert(reader, NOW)
    assert result.outcome == SHOWN and result.balance_minor == 777 and result.history == ()
    assert reader.has_card() and not c.locked_out


@pytest.mark.parametrize("token_until,reason", [(None, "no_token"), (NOW - 1, "token_expired")])
def test_card_without_valid_token_is_refused_offline(live, center, token_until, reason):
    c = card(center, GOOD_A, token_valid_until=token_until)
    reader = inserted(c)
    v = screen_card(reader, live, TerminalPolicy(), NOW)
    assert not v.accepted and v.reason == reason
    assert not reader.has_card() and not c.locked_out


def test_token_of_another_card_is_refused(live, center):
    c = ICCard(GOOD_A, 100, issue_token(GOOD_B, NOW + DAY_S, center))
    v = screen_card(inserted(c), live, TerminalPolicy(), NOW)
    assert v.reason == "token_invalid"


def test_token_from_another_center_is_refused(live, other_sim):
    c = ICCard(GOOD_A, 100, issue_token(GOOD_A, NOW + DAY_S, other_sim.keys))
    assert screen_card(inserted(c), live, TerminalPolicy(), NOW).reason == "token_invalid"


def test_already_locked_card_is_refused(live, center):
    c = card(center, GOOD_A)
    c.lock_out()
    assert PosTerminal(live).pay(inserted(c), 10, NOW).outcome == REFUSED


# -- purse remittance -------------------------------------------------------------------

def test_remittance_moves_money_and_history_together(live, center):
    a, b = card(center, GOOD_A, 1000), card(center, GOOD_B, 50)
    result = PurseTerminal(live).remit(inserted(a), inserted(b), 300, NOW)
    assert result.outcome == REMITTED and result.balance_minor == 700
    assert (a.balance_minor, b.balance_minor) == (700, 350)
    assert a.history[-1].amount_minor == -300 and a.history[-1].counterparty == GOOD_B
    assert b.history[-1].amount_minor == 300 and b.history[-1].counterparty == GOOD_A


@pytest.mark.parametrize("listed_side", ["payer", "payee"])
def test_remittance_with_listed_card_moves_nothing(live, center, listed_side):
    a = card(center, STOLEN_ID if listed_side == "payer" else GOOD_A, 1000)
    b = card(center, LOST_ID if listed_side == "payee" else GOOD_B, 1000)
    ra, rb = inserted(a), inserted(b)
    result = PurseTerminal(live).remit(ra, rb, 300, NOW)
    assert result.outcome == REFUSED
    assert (a.balance_minor, b.balance_minor) == (1000, 1000)
    assert a.history == () and b.history == ()
    listed = a if listed_side == "payer" else b
    other = b if listed_side == "payer" else a
    assert listed.locked_out and not other.locked_out
    assert not ra.has_card() and not rb.has_card()


def test_remittance_insufficient_moves_nothing(live, center):
    a, b = card(center, GOOD_A, 100), card(center, GOOD_B, 0)
    result = PurseTerminal(live).remit(inserted(a), inserted(b), 101, NOW)
    assert result.outcome == INSUFFICIENT and (a.balance_minor, b.balance_minor) == (100, 0)


# -- POS payment ------------------------------------------------------------------------

def test_pos_payment_debits_and_records_sale(live, center):
    c = card(center, GOOD_A, 1000)
    reader = inserted(c)
    pos = PosTerminal(live)
    result = pos.pay(reader, 250, NOW)
    assert result.outcome == PAID and result.balance_minor == 750 and not result.stale
    assert c.balance_minor == 750 and c.history[-1].kind == "payment"
    assert not reader.has_card()
    assert live.sales_total_minor() == 250
    assert live.sales() == [{"at": NOW, "card": GOOD_A, "amount_minor": 250, "list_seq": 12,
                             "stale": False}]


def test_pos_insufficient_balance_changes_nothing(live, center):
    c = card(center, GOOD_A, 100)
    reader = inserted(c)
    result = PosTerminal(live).pay(reader, 101, NOW)
    assert result.outcome == INSUFFICIENT and "insufficient" in result.message
    assert c.balance_minor == 100 and c.history == () and not reader.has_card()
    assert live.sales() == []


def test_pos_refuses_listed_card_and_locks_it(live, center):
    c = card(center, LOST_ID, 1000)
    result = PosTerminal(live).pay(inserted(c), 10, NOW)
    assert result.outcome == REFUSED and c.locked_out and c.balance_minor == 1000
    assert live.sales() == []


def test_stale_pos_refuses_above_floor_limit(live, center):
    later = NOW + DAY_S + 1
    pos = PosTerminal(live, TerminalPolicy(floor_limit_minor=500))
    big = card(center, GOOD_A, 1000)
    result = pos.pay(inserted(big), 501, later)
    assert result.outcome == STALE_OVER_FLOOR and result.stale and big.balance_minor == 1000
    small = card(center, GOOD_B, 1000)
    result = pos.pay(inserted(small), 500, later)
    assert result.outcome == PAID and result.stale
    assert live.sales()[-1]["stale"] is True


def test_policy_rejects_negative_floor():
    with pytest.raises(ValueError, match="floor_limit_minor"):
        TerminalPolicy(floor_limit_minor=-1)


# -- stale lists and tokens through every terminal operation ----------------------------

STALE_AT = NOW + DAY_S + 1  # the live list was valid for one day from NOW


def test_every_operation_on_a_stale_list_says_stale(live, center):
    policy = TerminalPolicy(floor_limit_minor=100)
    purse, pos = PurseTerminal(live, policy), PosTerminal(live, policy)
    results = [
        purse.insert(inserted(card(center, GOOD_A)), STALE_AT),
        purse.insert(inserted(card(center, STOLEN_ID)), STALE_AT),
        purse.remit(inserted(card(center, GOOD_A)), inserted(card(center, GOOD_B)), 50, STALE_AT),
        purse.remit(inserted(card(center, GOOD_A)), inserted(card(center, GOOD_B)), 101, STALE_AT),
        pos.pay(inserted(card(center, GOOD_A, balance=10)), 50, STALE_AT),
        pos.pay(inserted(card(center, GOOD_A)), 100, STALE_AT),
        pos.pay(inserted(card(center, GOOD_A)), 101, STALE_AT),
        pos.pay(inserted(card(center, LOST_ID)), 5, STALE_AT),
    ]
    assert [r.outcome for r in results] == [SHOWN, REFUSED, REMITTED, STALE_OVER_FLOOR,
                                            INSUFFICIENT, PAID, STALE_OVER_FLOOR, REFUSED]
    for r in results:
        assert r.verdicts and all(v.stale for v in r.verdicts), r
    assert "stale" in results[3].message and "stale" in results[6].message
    fresh = purse.insert(inserted(card(center, GOOD_A)), NOW)
    assert not fresh.stale and not fresh.verdicts[0].stale


def test_stale_remittance_over_the_floor_moves_nothing(live, center):
    a, b = card(center, GOOD_A, 1000), card(center, GOOD_B, 0)
    ra, rb = inserted(a), inserted(b)
    result = PurseTerminal(live, TerminalPolicy(floor_limit_minor=10)).remit(ra, rb, 11, STALE_AT)
    assert result.outcome == STALE_OVER_FLOOR
    assert (a.balance_minor, b.balance_minor, a.history, b.history) == (1000, 0, (), ())
    assert not ra.has_card() and not rb.has_card()


@pytest.mark.parametrize("token_until", [None, NOW - 1])
def test_pos_refuses_a_card_without_a_valid_token_offline(live, center, token_until):
    c = card(center, GOOD_A, 1000, token_valid_until=token_until)
    reader = inserted(c)
    result = PosTerminal(live).pay(reader, 10, NOW)
    assert result.outcome == REFUSED and "token" in result.message
    assert c.balance_minor == 1000 and c.history == () and live.sales() == []
    assert not reader.has_card() and not c.locked_out


@pytest.mark.parametrize("token_until", [None, NOW - 1])
def test_remittance_to_a_card_without_a_valid_token_moves_nothing(live, center, token_until):
    a = card(center, GOOD_A, 1000)
    b = card(center, GOOD_B, 0, token_valid_until=token_until)
    result = PurseTerminal(live).remit(inserted(a), inserted(b), 10, NOW)
    assert result.outcome == REFUSED and str(GOOD_B) in result.message
    assert (a.balance_minor, b.balance_minor, a.history, b.history) == (1000, 0, (), ())


def test_token_good_through_its_last_second_at_the_terminal(live, center):
    c = card(center, GOOD_A, 1000, token_valid_until=NOW)
    assert PosTerminal(live).pay(inserted(c), 10, NOW).outcome == PAID
    c = card(center, GOOD_B, 1000, token_valid_until=NOW)
    assert PosTerminal(live).pay(inserted(c), 10, NOW + 1).outcome == REFUSED


# -- tokens across key sets ---------------------------------------------------------------

def test_a_token_of_a_replaced_signing_key_kept_for_tokens_is_still_good(live, sim):
    """A key set that replaces the signing key keeps the old public key apart, only for the
    tokens it signed, until they expire (issue 6)."""
    c = card(sim.keys, GOOD_A, 1000)  # signed by key 1
    live.apply_bundle(sim.replace_signing_key(keep_old_for_tokens=True), NOW)
    assert live.keys().keyset.signing_key(1) is None and live.keys().keyset.token_key(1)
    assert PosTerminal(live).pay(inserted(c), 10, NOW).outcome == PAID
    fresh = card(sim.keys, GOOD_B, 1000)  # signed by key 2
    assert PosTerminal(live).pay(inserted(fresh), 10, NOW).outcome == PAID


def test_a_token_of_a_signing_key_retired_outright_is_refused(live, sim):
    """A leaked key is dropped outright: the tokens it signed (or a thief signs) are refused."""
    c = card(sim.keys, GOOD_A, 1000)
    live.apply_bundle(sim.replace_signing_key(keep_old_for_tokens=False), NOW)
    reader = inserted(c)
    v = screen_card(reader, live, TerminalPolicy(), NOW)
    assert not v.accepted and v.reason == "token_invalid" and not c.locked_out
