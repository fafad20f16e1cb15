"""Card validity tokens: the center's signed statement "card C is good until T".

Layout (85 bytes, big-endian)::

    version u8 (1) | card_id u64 | valid_until u64 unix seconds | signing_key_id u32
    | Ed25519 signature (64 bytes) over DOMAIN || the 21 bytes before it

A terminal checks a token offline with only the center's public keys. Order of checks:
exact length and version, known signer, signature, card id, expiry -- so a forged or
foreign token is never reported as merely expired. The signature is domain-separated from
bundle signatures (``DOMAIN``), so a token can never pass as a bundle or the reverse.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from crypto import _primitives
from crypto.errors import SignatureError, TokenError, TokenExpiredError
from crypto.keys import CenterKeys, TerminalKeys

TOKEN_VERSION = 1
DOMAIN = b"hotcast card token v1\x00"
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
    for name, value in (("card_id", card_id), ("valid_until", valid_until)):
        if not isinstance(value, int) or not 0 <= value <= _U64:
            raise ValueError(f"{name} must be an integer in [0, 2**64-1], got {value!r}")
    body = _BODY.pack(TOKEN_VERSION, card_id, valid_until, keys.signing_key_id)
    return body + _primitives.ed25519_sign(keys.signing_seed, DOMAIN + body)


def check_token(token: bytes, card_id: int, now: int, keys: TerminalKeys) -> CardToken:
    """The verified token for ``card_id``, or ``TokenError`` / ``TokenExpiredError``.

    Expired means ``now > valid_until``: a token is good through its last second.
    """
    token = bytes(token)
    if len(token) != TOKEN_BYTES:
        raise TokenError(f"token is {len(token)} bytes, expected {TOKEN_BYTES}")
    version, token_card, valid_until, key_id = _BODY.unpack_from(token)
    if version != TOKEN_VERSION:
        raise TokenError(f"token version {version} is not supported (expected {TOKEN_VERSION})")
    public = keys.public_key(key_id)
    if public is None:
        raise TokenError(f"token names signing key id {key_id}, which the terminal lacks")
    try:
        _primitives.ed25519_verify(public, DOMAIN + token[: _BODY.size], token[_BODY.size :])
    except SignatureError:
        raise TokenError(f"token signature does not verify under signing key id {key_id}") from None
    if token_card != card_id:
        raise TokenError(f"token is for another card, not card {card_id}")
    if now > valid_until:
        raise TokenExpiredError(f"token for card {card_id} expired at {valid_until} (now {now})")
    return CardToken(card_id=token_card, valid_until=valid_until, signing_key_id=key_id)
