"""Key sets: the root's signed statement of which online keys are valid, and when.

A key set names the online Ed25519 signing keys (each with a validity period), the master key
ids valid for lists (an inclusive id range with a validity period: the center rolls master
keys inside it without the root; the root retires old ids by raising ``lo``), the old signing
public keys kept only to check card tokens (each until its keep-until time), and the list
``epoch``. It plays TUF's targets-delegation role (TUF specification section 4.5): the online
keys below it are named by the offline root, never by each other, so a stolen signing key
cannot name its successor, and a key left out of the newest set opens nothing.

A terminal accepts a key set (``verify_keyset``) only if a threshold of the root set it holds
signed it, it names that root set's version, its version is above the current set's (a
terminal that missed several applies the newest; versions may skip), its epoch does not go
back, no key id it shares with the current set changes key, and ``now`` is within
[valid_from, expires]. The root bumps ``epoch`` to start a new epoch of list sequence numbers:
lists of an older epoch are then refused, which recovers terminals pushed to an absurd seq.

Body (signed-metadata type 5, see ``_metadata``), big-endian; "contents" is shared with the
unsigned ``KeySetRequest`` a center proposes::

    version        u32   >= 1, strictly increasing
    root_version   u32   the root set version whose keys sign this set
    epoch          u32   >= 1, non-decreasing
    -- contents --
    valid_from     u64   unix seconds, <= expires
    expires        u64   unix seconds, <= 2**63 - 1; bounds every validity period below
    master lo, hi  u32, u32     1 <= lo <= hi
    master valid_from, valid_until  u64, u64
    signing count  u8    0..16 (0: a kill switch, no list opens until the next set)
      n x (key id u32, public key 32, valid_from u64, valid_until u64)   52 bytes each
    token count    u8    0..64
      m x (key id u32, public key 32, keep_until u64)                    44 bytes each

    body bytes = 54 + 52 n + 44 m, at most 54 + 832 + 2 816 = 3 702.

Key set request file: magic b"HCQ" | version u8 (1) | contents (at most 3 694 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto import _metadata, _primitives, _wire
from crypto.errors import (
    EpochRollbackError,
    KeyRebindError,
    KeySetExpiredError,
    KeySetNotYetValidError,
    MetadataFormatError,
    ReplayError,
    RootVersionError,
)
from crypto.root import RootKeys, RootSet, check_public_table

MAX_SIGNING_KEYS = 16
MAX_TOKEN_KEYS = 64
_SIGNING_ENTRY_BYTES = 4 + _primitives.ED25519_PUBLIC_BYTES + 8 + 8  # 52
_TOKEN_ENTRY_BYTES = 4 + _primitives.ED25519_PUBLIC_BYTES + 8  # 44
REQUEST_MAGIC = b"HCQ"
REQUEST_VERSION = 1


def _check_period(name: str, start: int, end: int) -> None:
    _wire.check_uint(f"{name} start", start, _wire.MAX_TIME)
    _wire.check_uint(f"{name} end", end, _wire.MAX_TIME)
    if start > end:
        raise ValueError(f"{name} starts at {start}, after it ends at {end}")


@dataclass(frozen=True)
class SigningKeyEntry:
    """An online signing public key the root names, valid in [valid_from, valid_until]."""

    key_id: int
    public_key: bytes
    valid_from: int
    valid_until: int

    def __post_init__(self) -> None:
        check_public_table("signing key", ((self.key_id, self.public_key),))
        _check_period(f"validity of signing key id {self.key_id}", self.valid_from, self.valid_until)

    def valid_at(self, t: int) -> bool:
        return self.valid_from <= t <= self.valid_until


@dataclass(frozen=True)
class TokenKeyEntry:
    """An old signing public key kept only to check card tokens, until ``keep_until``."""

    key_id: int
    public_key: bytes
    keep_until: int

    def __post_init__(self) -> None:
        check_public_table("token key", ((self.key_id, self.public_key),))
        _wire.check_uint(f"keep_until of token key id {self.key_id}", self.keep_until, _wire.MAX_TIME)


@dataclass(frozen=True)
class MasterIdRange:
    """Master key ids lo..hi (inclusive) are valid for lists in [valid_from, valid_until]."""

    lo: int
    hi: int
    valid_from: int
    valid_until: int

    def __post_init__(self) -> None:
        _wire.check_uint("lo", self.lo, _wire.MAX_U32, bottom=1)
        _wire.check_uint("hi", self.hi, _wire.MAX_U32, bottom=self.lo)
        _check_period("validity of master key ids", self.valid_from, self.valid_until)

    def __contains__(self, key_id: int) -> bool:
        return self.lo <= key_id <= self.hi

    def valid_at(self, t: int) -> bool:
        return self.valid_from <= t <= self.valid_until


def _check_contents(valid_from: int, expires: int, signing_keys: tuple[SigningKeyEntry, ...],
                    master_ids: MasterIdRange, token_keys: tuple[TokenKeyEntry, ...]) -> None:
    _check_period("key set validity", valid_from, expires)
    for name, table, kind, top in (("signing_keys", signing_keys, SigningKeyEntry, MAX_SIGNING_KEYS),
                                   ("token_keys", token_keys, TokenKeyEntry, MAX_TOKEN_KEYS)):
        if not isinstance(table, tuple) or len(table) > top or not all(isinstance(k, kind) for k in table):
            raise ValueError(f"{name} must be a tuple of at most {top} {kind.__name__} values")
    if not isinstance(master_ids, MasterIdRange):
        raise ValueError(f"master_ids must be a MasterIdRange, got {master_ids!r}")
    check_public_table("signing_keys", tuple((k.key_id, k.public_key) for k in signing_keys))
    check_public_table("token_keys", tuple((k.key_id, k.public_key) for k in token_keys))
    check_public_table("signing_keys and token_keys", tuple(sorted(
        (k.key_id, k.public_key) for k in (*signing_keys, *token_keys))))
    for k in signing_keys:
        if k.valid_until > expires:
            raise ValueError(f"signing key id {k.key_id} is valid until {k.valid_until}, after the set expires at {expires}")
    if master_ids.valid_until > expires:
        raise ValueError(f"master key ids are valid until {master_ids.valid_until}, after the set expires at {expires}")


def _pack_contents(c: KeySet | KeySetRequest) -> bytes:
    m = c.master_ids
    signing = b"".join(_wire.u32(k.key_id) + k.public_key + _wire.u64(k.valid_from) + _wire.u64(k.valid_until)
                       for k in c.signing_keys)
    tokens = b"".join(_wire.u32(k.key_id) + k.public_key + _wire.u64(k.keep_until) for k in c.token_keys)
    return b"".join((_wire.u64(c.valid_from), _wire.u64(c.expires), _wire.u32(m.lo), _wire.u32(m.hi),
                     _wire.u64(m.valid_from), _wire.u64(m.valid_until),
                     _wire.u8(len(c.signing_keys)), signing, _wire.u8(len(c.token_keys)), tokens))


def _read_contents(reader: _wire.Reader) -> tuple:
    valid_from, expires = reader.time("valid_from"), reader.time("expires")
    lo, hi = reader.u32("master lo"), reader.u32("master hi")
    master_from, master_until = reader.time("master valid_from"), reader.time("master valid_until")
    n = reader.count(1, "signing keys", _SIGNING_ENTRY_BYTES, MAX_SIGNING_KEYS)
    raw_signing = [(reader.u32("signing key id"), reader.take(32, "signing public key"),
                    reader.time("signing valid_from"), reader.time("signing valid_until")) for _ in range(n)]
    m = reader.count(1, "token keys", _TOKEN_ENTRY_BYTES, MAX_TOKEN_KEYS)
    raw_tokens = [(reader.u32("token key id"), reader.take(32, "token public key"),
                   reader.time("token keep_until")) for _ in range(m)]
    reader.finish()
    try:
        return (valid_from, expires, tuple(SigningKeyEntry(*e) for e in raw_signing),
                MasterIdRange(lo, hi, master_from, master_until), tuple(TokenKeyEntry(*e) for e in raw_tokens))
    except ValueError as exc:
        raise reader.fail(str(exc)) from None


@dataclass(frozen=True)
class KeySetRequest:
    """A center's unsigned proposal: the offline root reviews it and turns it into a key set
    (``make_keyset``). It travels from the center home to the root home as bytes."""

    valid_from: int
    expires: int
    signing_keys: tuple[SigningKeyEntry, ...]
    master_ids: MasterIdRange
    token_keys: tuple[TokenKeyEntry, ...] = ()

    def __post_init__(self) -> None:
        _check_contents(self.valid_from, self.expires, self.signing_keys, self.master_ids, self.token_keys)

    def to_bytes(self) -> bytes:
        return REQUEST_MAGIC + _wire.u8(REQUEST_VERSION) + _pack_contents(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> KeySetRequest:
        """Inverse of :meth:`to_bytes`; ``MetadataFormatError`` on anything malformed."""
        if len(data) > _metadata.MAX_BODY_BYTES:
            raise MetadataFormatError(f"key set request: {len(data)} bytes, above the {_metadata.MAX_BODY_BYTES}-byte limit")
        reader = _wire.Reader(data, MetadataFormatError, "key set request")
        if reader.take(3, "magic") != REQUEST_MAGIC:
            raise reader.fail("not a hotcast key set request (bad magic)")
        version = reader.u8("version")
        if version != REQUEST_VERSION:
            raise reader.fail(f"version {version} is not supported (expected {REQUEST_VERSION})")
        contents = _read_contents(reader)
        try:
            return cls(*contents)
        except ValueError as exc:
            raise reader.fail(str(exc)) from None


@dataclass(frozen=True)
class KeySet:
    """A root-signed key set (only ``verify_keyset`` returns one from bytes)."""

    version: int
    root_version: int
    epoch: int
    valid_from: int
    expires: int
    signing_keys: tuple[SigningKeyEntry, ...]
    master_ids: MasterIdRange
    token_keys: tuple[TokenKeyEntry, ...] = ()

    def __post_init__(self) -> None:
        _wire.check_uint("version", self.version, _wire.MAX_U32, bottom=1)
        _wire.check_uint("root_version", self.root_version, _wire.MAX_U32, bottom=1)
        _wire.check_uint("epoch", self.epoch, _wire.MAX_U32, bottom=1)
        _check_contents(self.valid_from, self.expires, self.signing_keys, self.master_ids, self.token_keys)

    def __repr__(self) -> str:
        return (f"KeySet(version={self.version}, root_version={self.root_version}, epoch={self.epoch}, "
                f"signing_key_ids={[k.key_id for k in self.signing_keys]}, "
                f"master_ids=[{self.master_ids.lo}, {self.master_ids.hi}], "
                f"token_key_ids={[k.key_id for k in self.token_keys]})")

    def signing_key(self, key_id: int) -> SigningKeyEntry | None:
        return next((k for k in self.signing_keys if k.key_id == key_id), None)

    def token_key(self, key_id: int) -> TokenKeyEntry | None:
        return next((k for k in self.token_keys if k.key_id == key_id), None)

    def public_keys(self) -> dict[int, bytes]:
        """Every key id this set binds (signing and token keys) to its public key."""
        return {k.key_id: k.public_key for k in (*self.signing_keys, *self.token_keys)}

    def encode(self) -> bytes:
        return _wire.u32(self.version) + _wire.u32(self.root_version) + _wire.u32(self.epoch) + _pack_contents(self)

    @classmethod
    def decode(cls, body: bytes) -> KeySet:
        """Inverse of :meth:`encode`; ``MetadataFormatError`` on anything malformed."""
        reader = _wire.Reader(body, MetadataFormatError, "key set")
        head = (reader.u32("version"), reader.u32("root_version"), reader.u32("epoch"))
        contents = _read_contents(reader)
        try:
            return cls(*head, *contents)
        except ValueError as exc:
            raise reader.fail(str(exc)) from None


def make_keyset(request: KeySetRequest, *, root: RootSet, previous: KeySet | None,
                new_epoch: bool = False) -> KeySet:
    """The key set the root signs for ``request``: version and epoch follow ``previous`` (1 and
    1 for the first set); ``new_epoch`` starts the next epoch of list sequence numbers."""
    version = previous.version + 1 if previous is not None else 1
    epoch = previous.epoch + int(new_epoch) if previous is not None else 1
    return KeySet(version, root.version, epoch, request.valid_from, request.expires,
                  request.signing_keys, request.master_ids, request.token_keys)


def sign_keyset(keyset: KeySet, signers: RootKeys) -> bytes:
    """The signed key set, with a signature by each of ``signers`` (other custodians of the
    root add theirs with ``add_signatures``)."""
    meta = _metadata.SignedMetadata(_metadata.MetadataType.KEY_SET, keyset.encode(), ())
    return _metadata.sign(meta, signers.signers()).to_bytes()


def read_unverified_keyset(data: bytes) -> KeySet:
    """The key set in ``data`` WITHOUT checking any signature (to show or route, never to trust)."""
    return KeySet.decode(_metadata.parse(data, _metadata.MetadataType.KEY_SET).body)


def verify_keyset(data: bytes, root: RootSet, current: KeySet | None, now: int) -> KeySet:
    """The key set in ``data`` if the terminal may replace ``current`` with it at ``now``.

    Order: structure (``MetadataFormatError``), root version (``RootVersionError``), root
    threshold (``ThresholdError``), then against ``current``: version (``ReplayError``), epoch
    (``EpochRollbackError``), id rebinding (``KeyRebindError``), then time
    (``KeySetExpiredError``, ``KeySetNotYetValidError``: the latter may pass later).
    """
    meta = _metadata.parse(data, _metadata.MetadataType.KEY_SET)
    keyset = KeySet.decode(meta.body)
    what = f"key set v{keyset.version}"
    if keyset.root_version != root.version:
        raise RootVersionError(f"{what} is signed under root set v{keyset.root_version}, "
                               f"the trusted root set is v{root.version}")
    _metadata.require_threshold(meta, root.keys, root.threshold, what, f"root set v{root.version}'s")
    if current is not None:
        if keyset.version <= current.version:
            raise ReplayError(f"{what} is not newer than the current key set v{current.version}")
        if keyset.epoch < current.epoch:
            raise EpochRollbackError(f"{what} has epoch {keyset.epoch}, below the current "
                                     f"key set v{current.version}'s epoch {current.epoch}")
        held = current.public_keys()
        for key_id, public in sorted(keyset.public_keys().items()):
            if held.get(key_id, public) != public:
                raise KeyRebindError(f"{what} binds key id {key_id} to another key than "
                                     f"key set v{current.version} does")
    if now > keyset.expires:
        raise KeySetExpiredError(f"{what} expired at {keyset.expires} (now {now})")
    if now < keyset.valid_from:
        raise KeySetNotYetValidError(f"{what} is not valid before {keyset.valid_from} (now {now})")
    return keyset
