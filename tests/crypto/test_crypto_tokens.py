"""Card validity tokens: issued by the center, checked offline by terminals."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import TOKEN_BYTES, TokenError, TokenExpiredError, check_token, issue_token
from crypto import _primitives
from crypto.envelope import DOMAIN as BUNDLE_DOMAIN

NOW = 1_790_000_000
CARD = 4929123412341234


def test_token_round_trip(center, terminal):
    token = issue_token(CARD, NOW + 3600, center)
    assert len(token) == TOKEN_BYTES == 85
    checked = check_token(token, CARD, NOW, terminal)
    assert (checked.card_id, checked.valid_until, checked.signing_key_id) == (CARD, NOW + 3600, 1)


def test_token_is_good_through_its_last_second(center, terminal):
    token = issue_token(CARD, NOW, center)
    assert check_token(token, CARD, NOW, terminal).valid_until == NOW
    with pytest.raises(TokenExpiredError, match=f"expired at {NOW}"):
        check_token(token, CARD, NOW + 1, terminal)


def test_expired_is_a_token_error(center, terminal):
    with pytest.raises(TokenError):
        check_token(issue_token(CARD, NOW - 1, center), CARD, NOW, terminal)


def test_token_for_other_card_is_refused(center, terminal):
    with pytest.raises(TokenError, match="another card"):
        check_token(issue_token(CARD, NOW + 60, center), CARD + 1, NOW, terminal)


def test_forged_token_is_refused(center, terminal, other_center):
    with pytest.raises(TokenError, match="does not verify"):
        check_token(issue_token(CARD, NOW + 60, other_center), CARD, NOW, terminal)


def test_extended_validity_is_refused(center, terminal):
    """The card holder edits valid_until on their own token."""
    token = bytearray(issue_token(CARD, NOW - 10, center))
    token[9:17] = (2**63).to_bytes(8, "big")
    with pytest.raises(TokenError, match="does not verify"):
        check_token(bytes(token), CARD, NOW, terminal)


def test_token_from_unknown_signer_is_named(center, terminal):
    token = bytearray(issue_token(CARD, NOW + 60, center))
    token[17:21] = (5).to_bytes(4, "big")
    with pytest.raises(TokenError, match="signing key id 5"):
        check_token(bytes(token), CARD, NOW, terminal)


def test_malformed_tokens_are_refused(center, terminal):
    token = issue_token(CARD, NOW + 60, center)
    for bad, message in ((token[:-1], "84 bytes"), (token + b"\x00", "86 bytes"), (b"", "0 bytes"),
                         (b"\x02" + token[1:], "version 2")):
        with pytest.raises(TokenError, match=message):
            check_token(bad, CARD, NOW, terminal)


def test_bundle_signature_cannot_pass_as_token(center, terminal):
    """Domain separation: a signature made for a bundle never verifies as a token."""
    body = (1).to_bytes(1, "big") + CARD.to_bytes(8, "big") + (NOW + 60).to_bytes(8, "big") + (1).to_bytes(4, "big")
    cross = body + _primitives.ed25519_sign(center.signing_seed, BUNDLE_DOMAIN + body)
    with pytest.raises(TokenError, match="does not verify"):
        check_token(cross, CARD, NOW, terminal)


def test_issue_refuses_out_of_range_values(center):
    with pytest.raises(ValueError, match="card_id"):
        issue_token(2**64, NOW, center)
    with pytest.raises(ValueError, match="valid_until"):
        issue_token(CARD, -1, center)


@given(data=st.data())
def test_any_bit_flip_in_a_token_is_refused(center, terminal, data):
    token = issue_token(CARD, NOW + 60, center)
    bit = data.draw(st.integers(0, TOKEN_BYTES * 8 - 1))
    flipped = bytearray(token)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TokenError):
        check_token(bytes(flipped), CARD, NOW, terminal)


@given(card=st.integers(0, 2**64 - 1), valid_until=st.integers(0, 2**64 - 1))
def test_round_trip_any_card_and_time(center, terminal, card, valid_until):
    token = issue_token(card, valid_until, center)
    assert check_token(token, card, min(valid_until, NOW), terminal).card_id == card
