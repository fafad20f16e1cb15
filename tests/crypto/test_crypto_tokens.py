"""Card validity tokens: issued by the center, checked offline against the current key set."""

import pytest
from crypto_simulator import DAY, NOW, Simulator
from hypothesis import given
from hypothesis import strategies as st

from crypto import (
    TOKEN_BYTES,
    TokenError,
    TokenExpiredError,
    TokenKeyEntry,
    add_signing_key,
    check_token,
    issue_token,
)
from crypto import _primitives
from crypto.envelope import DOMAIN as BUNDLE_DOMAIN

CARD = 4929123412341234


def test_token_round_trip(center, world):
    token = issue_token(CARD, NOW + 3600, center)
    assert len(token) == TOKEN_BYTES == 85
    checked = check_token(token, CARD, NOW, world.keyset)
    assert (checked.card_id, checked.valid_until, checked.signing_key_id) == (CARD, NOW + 3600, 1)


def test_token_is_good_through_its_last_second(center, world):
    token = issue_token(CARD, NOW, center)
    assert check_token(token, CARD, NOW, world.keyset).valid_until == NOW
    with pytest.raises(TokenExpiredError, match=f"expired at {NOW}"):
        check_token(token, CARD, NOW + 1, world.keyset)


def test_expired_is_a_token_error(center, world):
    with pytest.raises(TokenError):
        check_token(issue_token(CARD, NOW - 1, center), CARD, NOW, world.keyset)


def test_token_for_other_card_is_refused(center, world):
    with pytest.raises(TokenError, match="another card"):
        check_token(issue_token(CARD, NOW + 60, center), CARD + 1, NOW, world.keyset)


def test_forged_token_is_refused(world, other_world):
    with pytest.raises(TokenError, match="does not verify"):
        check_token(issue_token(CARD, NOW + 60, other_world.center), CARD, NOW, world.keyset)


def test_extended_validity_is_refused(center, world):
    """The card holder edits valid_until on their own token."""
    token = bytearray(issue_token(CARD, NOW - 10, center))
    token[9:17] = (2**62).to_bytes(8, "big")
    with pytest.raises(TokenError, match="does not verify"):
        check_token(bytes(token), CARD, NOW, world.keyset)


def test_token_from_a_key_the_set_does_not_hold_is_named(center, world):
    token = bytearray(issue_token(CARD, NOW + 60, center))
    token[17:21] = (5).to_bytes(4, "big")
    with pytest.raises(TokenError, match="signing key id 5, which key set v1 does not hold"):
        check_token(bytes(token), CARD, NOW, world.keyset)


def _retire_key_1(keep_until):
    """The root replaces signing key 1 by 2; key 1 stays as a token key until ``keep_until``
    (or is dropped when ``keep_until`` is None). Returns (token by key 1, new key set)."""
    sim = Simulator()
    token = issue_token(CARD, NOW + 365 * DAY, sim.center)
    old = sim.keyset.signing_key(1)
    sim.center = add_signing_key(sim.center, sim.keyset)
    listed = tuple(k for k in sim.request().signing_keys if k.key_id == 2)
    kept = () if keep_until is None else (TokenKeyEntry(1, old.public_key, keep_until),)
    sim.publish_keyset(sim.request(signing_keys=listed, token_keys=kept))
    return token, sim


def test_token_key_checks_tokens_until_its_keep_until():
    token, sim = _retire_key_1(keep_until=NOW + 30 * DAY)
    assert check_token(token, CARD, NOW + 30 * DAY, sim.keyset).signing_key_id == 1
    assert check_token(issue_token(CARD, NOW + 60, sim.center), CARD, NOW, sim.keyset).signing_key_id == 2


def test_token_signed_by_a_token_only_key_after_its_keep_until_is_refused():
    token, sim = _retire_key_1(keep_until=NOW + 30 * DAY)
    with pytest.raises(TokenError, match=r"signing key id 1, which key set v2 kept for tokens only until \d+"):
        check_token(token, CARD, NOW + 30 * DAY + 1, sim.keyset)


def test_token_by_a_key_dropped_from_the_set_is_refused_at_once():
    token, sim = _retire_key_1(keep_until=None)
    with pytest.raises(TokenError, match="signing key id 1, which key set v2 does not hold"):
        check_token(token, CARD, NOW, sim.keyset)


def test_malformed_tokens_are_refused(center, world):
    token = issue_token(CARD, NOW + 60, center)
    for bad, message in ((token[:-1], "84 bytes"), (token + b"\x00", "86 bytes"), (b"", "0 bytes"),
                         (b"\x01" + token[1:], "version 1")):
        with pytest.raises(TokenError, match=message):
            check_token(bad, CARD, NOW, world.keyset)


def test_bundle_signature_cannot_pass_as_token(center, world):
    """Domain separation: a signature made for a bundle never verifies as a token."""
    body = bytes([2]) + CARD.to_bytes(8, "big") + (NOW + 60).to_bytes(8, "big") + (1).to_bytes(4, "big")
    cross = body + _primitives.ed25519_sign(center.signing_key.seed, BUNDLE_DOMAIN + body)
    with pytest.raises(TokenError, match="does not verify"):
        check_token(cross, CARD, NOW, world.keyset)


def test_issue_refuses_out_of_range_values(center):
    with pytest.raises(ValueError, match="card_id"):
        issue_token(2**64, NOW, center)
    with pytest.raises(ValueError, match="valid_until"):
        issue_token(CARD, -1, center)
    with pytest.raises(ValueError, match="valid_until"):
        issue_token(CARD, 2**63, center)


@given(data=st.data())
def test_any_bit_flip_in_a_token_is_refused(center, world, data):
    token = issue_token(CARD, NOW + 60, center)
    bit = data.draw(st.integers(0, TOKEN_BYTES * 8 - 1))
    flipped = bytearray(token)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TokenError):
        check_token(bytes(flipped), CARD, NOW, world.keyset)


@given(card=st.integers(0, 2**64 - 1), valid_until=st.integers(0, 2**63 - 1))
def test_round_trip_any_card_and_time(center, world, card, valid_until):
    token = issue_token(card, valid_until, center)
    assert check_token(token, card, min(valid_until, NOW), world.keyset).card_id == card
