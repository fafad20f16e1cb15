"""Fuzz inputs for crypto's parsers: sealed bundles, key files, card tokens, key-roll bodies.

Seeds are valid outputs of the crypto recipes, with the offsets of their integer fields
(bundle header: kind, seq, base seq, times, key ids, body length; key files: key ids and
table counts; tokens: version, card, expiry, key id). The fixups re-seal a mutated input the
way an attacker holding a key would: re-sign a bundle or a token with the center's signing
key (the stolen key of issue 6), or recompute a key file's SHA-256 check.

Keys are generated once per process (signatures differ from run to run; layouts do not).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
from fuzz_engine import Field, Seed

import crypto
from center.home import DEFAULT_UNIVERSE
from crypto import _keyfile, _primitives
from crypto.envelope import DOMAIN as BUNDLE_DOMAIN
from crypto.tokens import DOMAIN as TOKEN_DOMAIN
from framing import HotList, ListDelta, encode_delta, encode_list

NOW = 1_760_000_000  # a fixed "now" for token checks (2025-10-09)
CARD = 4929123412341234


@functools.cache
def center_and_terminal_keys() -> tuple[crypto.CenterKeys, crypto.TerminalKeys]:
    """Center keys after one master roll and one signer roll (two ids in each table)."""
    keys = crypto.CenterKeys.generate()
    keys, _ = crypto.roll_master_key(keys, 1, NOW, NOW + 3600)
    keys, _ = crypto.roll_signing_key(keys, 2, NOW, NOW + 3600)
    return keys, crypto.provision(keys)



_BUNDLE_FIELDS = (Field(4, 1), Field(5, 8), Field(13, 8), Field(21, 8), Field(29, 8), Field(37, 4),
                  Field(41, 4), Field(45, 4))


@functools.cache
def bundle_seeds() -> list[Seed]:
    keys, _ = center_and_terminal_keys()
    hot = HotList(np.array([5, 17, 4929123412341234], np.uint64), np.array([0, 1, 2], np.uint8),
                  np.array([0, 300, 65535], np.uint16))
    full = crypto.BundleHeader(crypto.BundleKind.FULL, 9, 0, NOW, NOW + 86400,
                               keys.current_master_id, keys.signing_key_id)
    delta = crypto.BundleHeader(crypto.BundleKind.DELTA, 10, 9, NOW, NOW + 86400,
                                keys.current_master_id, keys.signing_key_id)
    bodies = [(full, encode_list(hot, DEFAULT_UNIVERSE)), (full, b""),
              (delta, encode_delta(ListDelta(hot, np.array([6], np.uint64)), DEFAULT_UNIVERSE))]
    seeds = [Seed(crypto.seal_bundle(h, b, keys), _BUNDLE_FIELDS) for h, b in bodies]
    _, master_roll = crypto.roll_master_key(keys, 11, NOW, NOW + 3600)
    _, signer_roll = crypto.roll_signing_key(keys, 12, NOW, NOW + 3600)
    return seeds + [Seed(master_roll, _BUNDLE_FIELDS), Seed(signer_roll, _BUNDLE_FIELDS)]


def resign_bundle(data: bytes) -> bytes:
    """Sign mutated bytes with the center's signing key: the attacker of issue 6 who stole it."""
    keys, _ = center_and_terminal_keys()
    if len(data) < 64:
        return data
    signed = data[:-64]
    return signed + _primitives.ed25519_sign(keys.signing_seed, BUNDLE_DOMAIN + signed)


@functools.cache
def key_file_seeds(role: str) -> list[Seed]:
    keys, terminal = center_and_terminal_keys()
    data = keys.to_bytes() if role == "center" else terminal.to_bytes()
    fields = [Field(4, 1), Field(5, 1)]
    pos = 6
    if role == "center":
        fields += [Field(6, 4), Field(10, 4)]
        pos = 14 + 32
    for entry in (32, 32):  # master table (u32 id + 32-byte key), public table (id + 32 bytes)
        count = int.from_bytes(data[pos:pos + 2], "big")
        fields.append(Field(pos, 2))
        fields += [Field(pos + 2 + i * (4 + entry), 4) for i in range(count)]
        pos += 2 + count * (4 + entry)
    return [Seed(data, tuple(fields))]


def recheck_key_file(data: bytes) -> bytes:
    """Recompute the key file's SHA-256 check so mutations reach the payload parser."""
    if len(data) < _keyfile.CHECK_BYTES:
        return data
    body = data[:-_keyfile.CHECK_BYTES]
    return body + hashlib.sha256(body).digest()[:_keyfile.CHECK_BYTES]


_TOKEN_FIELDS = (Field(0, 1), Field(1, 8), Field(9, 8), Field(17, 4))


@functools.cache
def token_seeds() -> list[Seed]:
    keys, _ = center_and_terminal_keys()
    return [Seed(crypto.issue_token(CARD, NOW + 86400 * 365, keys), _TOKEN_FIELDS),
            Seed(crypto.issue_token(CARD, 2**64 - 1, keys), _TOKEN_FIELDS)]


def resign_token(data: bytes) -> bytes:
    keys, _ = center_and_terminal_keys()
    if len(data) < 21:
        return data
    return data[:21] + _primitives.ed25519_sign(keys.signing_seed, TOKEN_DOMAIN + data[:21])


@functools.cache
def roll_seeds() -> list[Seed]:
    keys, terminal = center_and_terminal_keys()
    seeds = []
    for kind, roll in ((0, crypto.roll_master_key), (1, crypto.roll_signing_key)):
        _, sealed = roll(keys, 20 + kind, NOW, NOW + 3600)
        body = crypto.open_bundle(sealed, terminal).body
        seeds.append(Seed(bytes([kind]) + body, (Field(0, 1), Field(1, 1), Field(2, 4))))
    return seeds
