"""Fuzz inputs for crypto's parsers: sealed bundles, key files, card tokens, master rolls, key sets.

Everything genuine comes from one simulated center (``tests/simcenter.py``): a root, a key set,
the center's online keys after one master roll, and the terminal keys it provisions. Seeds are
what that center puts on air or on disk (envelope v2 bundles of every kind, the terminal key
file, the center key file's payload, tokens, signed key sets), with the offsets of their integer
fields. The fixups re-seal a mutated input the way an attacker holding a key would: re-sign a
bundle or a token with the center's signing key (the stolen key of issue 6), re-sign a key set
with the root (a stolen root key: what is left to check is the parser), or recompute a terminal
key file's SHA-256 check.

Keys are generated once per process (signatures differ from run to run; layouts do not).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
from fuzz_engine import Field, Seed

import crypto
from center.registry.home import DEFAULT_UNIVERSE
from crypto import _keyfile, _metadata, _primitives
from crypto.envelope import DOMAIN as BUNDLE_DOMAIN
from crypto.tokens import DOMAIN as TOKEN_DOMAIN
from framing import HotList
from tests.simcenter import NOW, SimCenter

CARD = 4929123412341234
PASSPHRASE = "fuzz passphrase"
# scrypt N = 2**10 (~2 ms): the seeds' cost; a mutated file may ask for more, within the bounds
# the key file reader enforces (at most 2**23 of work, ~2 s: see crypto/_keyfile.py).
CHEAP_KDF = _keyfile.KdfParams(log2_n=10)


@functools.cache
def center() -> SimCenter:
    """One simulated center after one master roll (two master key ids held by the terminal)."""
    sim = SimCenter(universe=DEFAULT_UNIVERSE)
    sim.roll_master()
    return sim


@functools.cache
def terminal_keys() -> crypto.TerminalKeys:
    return center().terminal_keys()


def trust() -> crypto.Trust:
    return terminal_keys().trust


# Envelope v2 header (crypto/envelope.py): kind, epoch, seq, base_seq, created_at, valid_until,
# master_key_id, signing_key_id, body_len.
_BUNDLE_FIELDS = (Field(4, 1), Field(5, 4), Field(9, 8), Field(17, 8), Field(25, 8), Field(33, 8),
                  Field(41, 4), Field(45, 4), Field(81, 4))


def _hot() -> HotList:
    return HotList(np.array([5, 17, CARD], np.uint64), np.array([0, 1, 2], np.uint8),
                   np.array([0, 300, 65535], np.uint16))


@functools.cache
def bundle_seeds() -> list[Seed]:
    """A full list, an empty full list, a delta, a master roll, a heartbeat, an announcement."""
    sim = center()  # the center whose terminal ``trust()`` is
    empty = sim.full(HotList(np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.uint16)),
                     record=False)
    full = sim.full(_hot())
    grown = HotList(np.array([5, 6, 17, CARD], np.uint64), np.array([0, 3, 1, 2], np.uint8),
                    np.array([0, 0, 300, 65535], np.uint16))
    delta = sim.delta(grown, base=sim.head()[0])
    _, roll = crypto.roll_master_key(sim.keys, sim.keyset, seq=11, created_at=NOW, valid_until=NOW + 3600)
    heartbeat = sim.heartbeat()
    announce = sim.announce([(0, 1, full), (0, 2, delta)])
    return [Seed(b, _BUNDLE_FIELDS) for b in (full, empty, delta, roll, heartbeat, announce)]


def resign_bundle(data: bytes) -> bytes:
    """Sign mutated bytes with the center's signing key: the attacker of issue 6 who stole it."""
    if len(data) < 64:
        return data
    signed = data[:-64]
    return signed + _primitives.ed25519_sign(center().keys.signing_key.seed, BUNDLE_DOMAIN + signed)


def master_roll_seeds() -> list[Seed]:
    """MASTER_ROLL bodies (version u8, new id u32, wrapped key 40 B) as the terminal opens them."""
    sim = center()
    _, sealed = crypto.roll_master_key(sim.keys, sim.keyset, seq=20, created_at=NOW, valid_until=NOW + 3600)
    body = crypto.open_bundle(sealed, trust(), NOW).body
    return [Seed(body, (Field(0, 1), Field(1, 4)))]


@functools.cache
def roll_header() -> crypto.BundleHeader:
    """The header a MASTER_ROLL under the center's current master key carries."""
    keys = center().keys
    return crypto.BundleHeader(crypto.BundleKind.MASTER_ROLL, center().epoch, 30, 0, NOW, NOW + 3600,
                               keys.current_master_id, keys.signing_key_id)


def _table_fields(data: bytes, pos: int, count_bytes: int, entry_bytes: int) -> tuple[list[Field], int]:
    """Fields of a (count, entries of u32 id + ...) table at ``pos``; returns them and its end."""
    count = int.from_bytes(data[pos:pos + count_bytes], "big")
    fields = [Field(pos, count_bytes)] + [Field(pos + count_bytes + i * entry_bytes, 4) for i in range(count)]
    return fields, pos + count_bytes + count * entry_bytes


@functools.cache
def terminal_key_file_seeds() -> list[Seed]:
    """The terminal key file: root set, key set and master keys, with their lengths and ids."""
    data = terminal_keys().to_file()
    root_len = int.from_bytes(data[6:8], "big")
    fields = [Field(4, 1), Field(5, 1), Field(6, 2), Field(8, 4), Field(12, 1)]
    roots, _ = _table_fields(data, 13, 1, 36)
    pos = 8 + root_len
    keyset_len = int.from_bytes(data[pos:pos + 2], "big")
    fields += roots + [Field(pos, 2), Field(pos + 2, 4), Field(pos + 6, 4), Field(pos + 10, 4)]
    masters, _ = _table_fields(data, pos + 2 + keyset_len, 2, 36)
    return [Seed(data, tuple(fields + masters))]


def recheck_key_file(data: bytes) -> bytes:
    """Recompute a terminal key file's SHA-256 check so mutations reach the payload parser."""
    if len(data) < _keyfile.CHECK_BYTES:
        return data
    body = data[:-_keyfile.CHECK_BYTES]
    return body + hashlib.sha256(body).digest()[:_keyfile.CHECK_BYTES]


@functools.cache
def center_payload_seeds() -> list[Seed]:
    """The payload of the center key file (what its passphrase protects): current ids, the
    signing table (u8 count) and the master table (u16 count)."""
    payload = _keyfile.open_secret(center().keys.to_file(PASSPHRASE, CHEAP_KDF), _keyfile.ROLE_CENTER, PASSPHRASE)
    signing, end = _table_fields(payload, 8, 1, 36)
    masters, _ = _table_fields(payload, end, 2, 36)
    return [Seed(payload, (Field(0, 4), Field(4, 4), *signing, *masters))]


def seal_center_payload(payload: bytes) -> bytes:
    """A center key file holding ``payload``, sealed under PASSPHRASE with the cheap KDF."""
    return _keyfile.seal_secret(_keyfile.ROLE_CENTER, payload, PASSPHRASE, CHEAP_KDF)


@functools.cache
def center_key_file_seeds() -> list[Seed]:
    """The encrypted center key file as it lies on disk (prefix, role, KDF id; the KDF cost
    bytes are left to blind mutation: a field mutation would ask for 2**20 most of the time)."""
    return [Seed(center().keys.to_file(PASSPHRASE, CHEAP_KDF), (Field(4, 1), Field(5, 1), Field(6, 1)))]


_TOKEN_FIELDS = (Field(0, 1), Field(1, 8), Field(9, 8), Field(17, 4))


@functools.cache
def token_seeds() -> list[Seed]:
    keys = center().keys
    return [Seed(crypto.issue_token(CARD, NOW + 86400 * 365, keys), _TOKEN_FIELDS),
            Seed(crypto.issue_token(CARD, 2**63 - 1, keys), _TOKEN_FIELDS)]


def resign_token(data: bytes) -> bytes:
    if len(data) < 21:
        return data
    return data[:21] + _primitives.ed25519_sign(center().keys.signing_key.seed, TOKEN_DOMAIN + data[:21])


@functools.cache
def keyset_seeds() -> list[Seed]:
    """The signed key set on air (HCM container, key set body) and one with a token key."""
    sim = center()
    fields = [Field(4, 1), Field(5, 4), Field(9, 4), Field(13, 4), Field(17, 4), Field(21, 8), Field(29, 8),
              Field(37, 4), Field(41, 4), Field(61, 1)]
    later = SimCenter(universe=DEFAULT_UNIVERSE)
    later.root, later.root_set, later.keys, later.keyset = sim.root, sim.root_set, sim.keys, sim.keyset
    rotated = later.replace_signing_key(keep_old_for_tokens=True)
    return [Seed(sim.keyset_bytes, tuple(fields)), Seed(rotated, tuple(fields))]


def resign_keyset(data: bytes) -> bytes:
    """Replace a mutated container's signatures by the root's over its (mutated) body, so
    mutations reach the key set body parser and the rules after the threshold."""
    if len(data) < _metadata.PREFIX_BYTES:
        return data
    body_len = int.from_bytes(data[5:9], "big")
    end = _metadata.PREFIX_BYTES + body_len
    if body_len > _metadata.MAX_BODY_BYTES or end > len(data) or data[4] not in (5, 6):
        return data
    meta = _metadata.SignedMetadata(_metadata.MetadataType(data[4]), data[_metadata.PREFIX_BYTES:end], ())
    try:
        return _metadata.sign(meta, center().root.signers()).to_bytes()
    except (ValueError, crypto.CryptoError):
        return data
