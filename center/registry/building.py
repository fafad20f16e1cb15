"""Building bundles from the registry: full lists, deltas, key rolls, the carousel set.

Invariants:
* Every bundle takes the next sequence number (``Registry.next_seq``), whatever its kind, and
  is recorded with its sealed bytes in the same transaction that allocated the number.
* Headers come from the sealed bytes themselves (``read_unverified_header`` of what we just
  sealed), so the history cannot disagree with what went on air.
* A list bundle stores the encoded full list at its seq (``list_body``); a delta from base B is
  ``diff(decode_list(list_body[B]), current list)``. Only full and delta bundles can be bases.
* Entries past their expiry month (expiry code below the code of ``now``'s UTC month) are left
  out of what is built: a card past its printed expiry cannot pay anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from center.registry.csvimport import ImportRows
from center.errors import UnknownSeqError
from center.registry.inputs import month_code_at
from center.registry.db import Registry
from crypto import (
    BundleHeader,
    BundleKind,
    CenterKeys,
    read_unverified_header,
    roll_master_key,
    roll_signing_key,
    seal_bundle,
)
from framing import HotList, Universe, decode_list, diff, encode_delta, encode_list

DEFAULT_VALID_S = 24 * 3600  # 86 400 s: a bundle is fresh for one day unless told otherwise
# Key rolls stay on air (see ``carousel``) for terminals that were away when they were new, and
# a terminal refuses an expired roll, so they get a year: 366 d x 86 400 s = 31 622 400 s.
# Replaying a roll is harmless (applying it twice is a no-op), so a long life costs nothing.
DEFAULT_ROLL_VALID_S = 366 * 86_400
LIST_KINDS = (BundleKind.FULL, BundleKind.DELTA)
ROLL_KINDS = (BundleKind.MASTER_ROLL, BundleKind.SIGNER_ROLL)


@dataclass(frozen=True, eq=False)
class BuiltBundle:
    """A sealed bundle and its history facts. ``sealed`` is the wire bytes."""

    seq: int
    kind: BundleKind
    base: int
    created_at: int
    valid_until: int
    sha256: str
    sealed: bytes
    entries: int | None = None  # list size after this bundle (list bundles)
    added: int | None = None  # delta only, when just built
    removed: int | None = None
    announces_key: int | None = None  # roll bundles: the new key id

    def __repr__(self) -> str:
        return (f"BuiltBundle(seq={self.seq}, kind={self.kind!r}, base={self.base}, "
                f"bytes={len(self.sealed)}, entries={self.entries})")

    def summary(self) -> dict:
        """The JSON line ``center build`` prints."""
        out = {"seq": self.seq, "kind": self.kind.name.lower(), "base": self.base,
               "bytes": len(self.sealed), "entries": self.entries}
        if self.added is not None:
            out.update(added=self.added, removed=self.removed)
        out.update(sha256=self.sha256, valid_until=self.valid_until)
        return out


def check_valid_for(valid_for_s: int) -> None:
    if not isinstance(valid_for_s, int) or valid_for_s <= 0:
        raise ValueError(f"valid_for_s must be a positive number of seconds, got {valid_for_s!r}")


def check_build_args(kind: BundleKind, base_seq: int | None, valid_for_s: int) -> None:
    check_valid_for(valid_for_s)
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be BundleKind.FULL or DELTA, got {kind!r}")
    if (kind is BundleKind.DELTA) != (base_seq is not None):
        raise ValueError("a delta needs base_seq and a full bundle takes none")


def full_of(n: int, value: int) -> np.ndarray:
    return np.full(n, value, dtype=np.uint8)


def sort_rows(rows: ImportRows) -> ImportRows:
    """Rows sorted by card ID (IDs are unique after validation)."""
    order = np.argsort(rows.ids, kind="stable")
    return ImportRows(rows.ids[order], rows.reasons[order], rows.expiry[order])


def current_list(reg: Registry, now: int) -> HotList:
    """The registry's list at ``now``, leaving out entries past their expiry month."""
    arrays = reg.list_arrays()
    live = (arrays.expiry == 0) | (arrays.expiry >= month_code_at(now))
    return HotList(arrays.ids[live], arrays.reasons[live], arrays.expiry[live])


def build_list(reg: Registry, keys: CenterKeys, universe: Universe, kind: BundleKind,
               base_seq: int | None, now: int, valid_for_s: int) -> BuiltBundle:
    """Seal and record a full bundle, or a delta from ``base_seq``. Call in a transaction."""
    seq = reg.next_seq()
    hot = current_list(reg, now)
    list_body = encode_list(hot, universe)
    added = removed = None
    if kind is BundleKind.FULL:
        body, base = list_body, 0
    else:
        base = int(base_seq)
        row = reg.bundle(base)
        if row is None or row["kind"] not in _names(LIST_KINDS):
            what = "was never built" if row is None else f"is a {row['kind']} bundle, not a list"
            raise UnknownSeqError(f"cannot build a delta from seq {base_seq}: it {what}")
        _, old = decode_list(row["list_body"])
        delta = diff(old, hot)
        body = encode_delta(delta, universe)
        added, removed = len(delta.added), int(delta.removed.size)
    header = BundleHeader(
        kind=kind, seq=seq, base_seq=base,
        created_at=now, valid_until=now + valid_for_s,
        master_key_id=keys.current_master_id, signing_key_id=keys.signing_key_id,
    )
    sealed = seal_bundle(header, body, keys)
    built = _record(reg, sealed, entries=len(hot), list_body=list_body)
    return replace(built, added=added, removed=removed)


def roll(reg: Registry, keys: CenterKeys, kind: BundleKind, now: int,
         valid_for_s: int) -> tuple[CenterKeys, BuiltBundle]:
    """Roll the master or signing key; returns the new keys and the recorded roll bundle."""
    seq = reg.next_seq()
    master = kind is BundleKind.MASTER_ROLL
    roller = roll_master_key if master else roll_signing_key
    new_keys, sealed = roller(keys, seq, now, now + valid_for_s)
    announces = new_keys.current_master_id if master else new_keys.signing_key_id
    return new_keys, _record(reg, sealed, announces_key=announces)


def _record(reg: Registry, sealed: bytes, *, entries: int | None = None,
            list_body: bytes | None = None, announces_key: int | None = None) -> BuiltBundle:
    header = read_unverified_header(sealed)
    digest = hashlib.sha256(sealed).hexdigest()
    reg.record_bundle({
        "seq": header.seq, "kind": header.kind.name.lower(), "base": header.base_seq,
        "bytes": len(sealed), "sha256": digest, "created_at": header.created_at,
        "valid_until": header.valid_until, "entries": entries,
        "master_key_id": header.master_key_id, "signing_key_id": header.signing_key_id,
        "announces_key": announces_key, "sealed": sealed, "list_body": list_body,
    })
    return BuiltBundle(
        seq=header.seq, kind=header.kind, base=header.base_seq,
        created_at=header.created_at, valid_until=header.valid_until, sha256=digest,
        sealed=sealed, entries=entries, announces_key=announces_key,
    )


def load(reg: Registry, seq: int) -> BuiltBundle:
    row = reg.bundle(seq)
    if row is None:
        raise UnknownSeqError(f"no bundle with seq {seq} was ever built")
    return BuiltBundle(
        seq=row["seq"], kind=BundleKind[row["kind"].upper()], base=row["base"],
        created_at=row["created_at"],
        valid_until=row["valid_until"], sha256=row["sha256"], sealed=row["sealed"],
        entries=row["entries"], announces_key=row["announces_key"],
    )


def latest_seq(reg: Registry) -> int | None:
    """The newest bundle's seq, any kind (None before the first)."""
    return reg.latest_seq(_names(LIST_KINDS + ROLL_KINDS))


def carousel(reg: Registry, now: int | None = None) -> list[BuiltBundle]:
    """Every key roll (a terminal may need the whole chain), the latest full, newer deltas.

    In seq order, so each roll comes before the bundles sealed or signed with the key it
    announces. With ``now``, rolls past their validity are left out (terminals refuse them);
    list bundles are kept whatever their age, for the caller to judge. Empty before the first
    full bundle is built.
    """
    full = reg.latest_seq(_names((BundleKind.FULL,)))
    if full is None:
        return []
    seqs = sorted(reg.seqs(_names(ROLL_KINDS)) + [full]
                  + reg.seqs(_names((BundleKind.DELTA,)), after=full))
    bundles = [load(reg, s) for s in seqs]
    if now is None:
        return bundles
    return [b for b in bundles if b.kind not in ROLL_KINDS or b.valid_until >= now]


def _names(kinds: tuple[BundleKind, ...]) -> tuple[str, ...]:
    """The registry's spelling of bundle kinds (its ``bundles.kind`` column)."""
    return tuple(k.name.lower() for k in kinds)
