"""Card validity tokens: the center's signed statement "card C is good until T".

Layout (85 bytes, big-endian)::

    version u8 (2) | card_id u64 | valid_until u64 unix seconds | signing_key_id u32
    | Ed25519 signature (64 bytes) over DOMAIN || the 21 bytes before it

A terminal checks a token offline against its current key set: the signer must be one of the
set's signing keys (whatever that key's period for signing bundles: the token's own
valid_until bounds it), or one of its token keys whose keep-until time has not passed (an old
signing key kept only so that tokens it issued still check). A key the set does not name
checks nothing. Order of checks: exact length and version, signer in the key set, signature,
card id, expiry, so a forged or foreign token is never reported as merely expired. The
signature is domain-separated (``DOMAIN``) from bundles, root sets and key sets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from crypto import _primitives, _wire
from crypto.errors import SignatureError, TokenError, TokenExpiredError
from crypto.keys import CenterKeys
from crypto.keyset import KeySet

TOKEN_VERSION = 2
DOMAIN = b"hotcast card token v2\x00"
_BODY = struct.Struct(">BQQI")  # 1 + 8 + 8 + 4 = 21
TOKEN_BYTES = _BODY.size + _primitives.ED25519_SIGNATURE_BYTES  # 85
_U64 = 2**64 - 1


@dataclass(frozen=True)
class CardToken:
    """A verified token (only ``check_token`` returns one)."""

    card_id: int
    valid_until: int
    signing_key_id: int


def issue_token(card_id: int, valid_until: int, keys: CenterKeys) -> bytes:
    """Sign (card_id, valid_until) with the center's current signing key; 85 bytes."""
    _wire.check_uint("card_id", card_id, _U64)
    _wire.check_uint("valid_until", valid_until, _wire.MAX_TIME)
    body = _BODY.pack(TOKEN_VERSION, card_id, valid_until, keys.signing_key_id)
    return body + _primitives.ed25519_sign(keys.signing_key.seed, DOMAIN + body)


def _token_public_key(key_id: int, keyset: KeySet, now: int) -> bytes:
    entry = keyset.signing_key(key_id)
    if entry is not None:
        return entry.public_key
    kept = keyset.token_key(key_id)
    if kept is None:
        raise TokenError(f"token names signing key id {key_id}, which key set v{keyset.version} does not hold")
    if now > kept.keep_until:
        raise TokenError(f"token names signing key id {key_id}, which key set v{keyset.version} "
                         f"kept for tokens only until {kept.keep_until} (now {now})")
    return kept.public_key


def check_token(token: bytes, card_id: int, now: int, keyset: KeySet) -> CardToken:
    """The verified token for ``card_id``, or ``TokenError`` / ``TokenExpiredError``.

    Expired means ``now > valid_until``: a token is good through its last second.
    """
    token = bytes(token)
    if len(token) != TOKEN_BYTES:
        raise TokenError(f"token is {len(token)} bytes, expected {TOKEN_BYTES}")
    version, token_card, valid_until, key_id = _BODY.unpack_from(token)
    if version != TOKEN_VERSION:
        raise TokenError(f"token version {version} is not supported (expected {TOKEN_VERSION})")
    public = _token_public_key(key_id, keyset, now)
    try:
        _primitives.ed25519_verify(public, DOMAIN + token[: _BODY.size], token[_BODY.size :])
    except SignatureError:
        raise TokenError(f"token signature does not verify under signing key id {key_id}") from None
    if token_card != card_id:
        raise TokenError(f"token is for another card, not card {card_id}")
    if now > valid_until:
        raise TokenExpiredError(f"token for card {card_id} expired at {valid_until} (now {now})")
    return CardToken(card_id=token_card, valid_until=valid_until, signing_key_id=key_id)
