"""One simulated other side for crypto tests: an offline root and an online center.

As python-tuf's ``RepositorySimulator``: a test builds a world, mutates it as the center, the
root or an attacker would, and asserts what a terminal's crypto accepts. Time never comes from
the clock: ``NOW`` is fixed and every validity period is laid out around it.
"""

from __future__ import annotations

import dataclasses

from crypto import (
    BundleHeader,
    BundleKind,
    CenterKeys,
    KdfParams,
    KeySet,
    KeySetRequest,
    MasterIdRange,
    RootKeys,
    RootSet,
    TerminalKeys,
    adopt_keyset,
    keyset_request,
    make_keyset,
    provision,
    seal_bundle,
    sign_keyset,
    sign_root_set,
)

NOW = 1_790_000_000  # a fixed unix time (2026-09): tests never read the clock
DAY = 86_400
KEYSET_LIFE = 365 * DAY
FAST_KDF = KdfParams(log2_n=10, r=8, p=1)  # ~3 ms: key-file tests only, never a default


class Simulator:
    """A root of ``n`` keys with threshold ``k``, a center, and the key sets the root signed."""

    def __init__(self, n: int = 3, k: int = 2, master_range: tuple[int, int] = (1, 100)) -> None:
        self.root_keys = RootKeys.generate(n)
        self.root = RootSet.for_keys(self.root_keys, k)
        self.root_sets = [sign_root_set(self.root, self.root_keys)]
        self.center = CenterKeys.generate()
        self.master_range = master_range
        self.keyset: KeySet | None = None
        self.keyset_bytes = b""
        self.publish_keyset()

    def request(self, **changes) -> KeySetRequest:
        """The center's default proposal: every held signing key, valid a year around NOW."""
        lo, hi = self.master_range
        request = keyset_request(self.center, valid_from=NOW - DAY, expires=NOW + KEYSET_LIFE,
                                 master_ids=MasterIdRange(lo, hi, NOW - DAY, NOW + KEYSET_LIFE))
        return dataclasses.replace(request, **changes)

    def sign_next_keyset(self, request: KeySetRequest | None = None, *, new_epoch: bool = False,
                         signers: RootKeys | None = None, **fields) -> tuple[KeySet, bytes]:
        """The next key set the root would sign (not yet adopted); ``fields`` override any."""
        keyset = make_keyset(request or self.request(), root=self.root, previous=self.keyset, new_epoch=new_epoch)
        keyset = dataclasses.replace(keyset, **fields)
        return keyset, sign_keyset(keyset, signers or self.root_keys)

    def publish_keyset(self, request: KeySetRequest | None = None, *, new_epoch: bool = False) -> bytes:
        """Sign the next key set and make the center adopt it; returns its signed bytes."""
        self.keyset, self.keyset_bytes = self.sign_next_keyset(request, new_epoch=new_epoch)
        self.center = adopt_keyset(self.center, self.keyset, NOW)
        return self.keyset_bytes

    def rotate_root(self, new_keys: RootKeys, threshold: int, signers: RootKeys | None = None) -> bytes:
        """Root set v+1 over ``new_keys``, signed by ``signers`` (default: old and new keys)."""
        new_root = RootSet(self.root.version + 1, threshold, new_keys.public_keys)
        everyone = RootKeys(tuple(sorted({k.key_id: k for k in self.root_keys.keys + new_keys.keys}.values(),
                                         key=lambda k: k.key_id)))
        data = sign_root_set(new_root, signers or everyone)
        self.root, self.root_keys = new_root, new_keys
        self.root_sets.append(data)
        return data

    def terminal(self) -> TerminalKeys:
        return provision(self.center, self.root, self.keyset)

    def header(self, kind: BundleKind = BundleKind.FULL, **fields) -> BundleHeader:
        defaults = dict(kind=kind, epoch=self.keyset.epoch, seq=7, base_seq=0, created_at=NOW,
                        valid_until=NOW + DAY, master_key_id=self.center.current_master_id if kind in (
                            BundleKind.FULL, BundleKind.DELTA, BundleKind.MASTER_ROLL) else 0,
                        signing_key_id=self.center.signing_key_id)
        if kind is BundleKind.DELTA:
            defaults["base_seq"] = 6
        return BundleHeader(**{**defaults, **fields})

    def bundle(self, body: bytes = b"list body", kind: BundleKind = BundleKind.FULL, keys: CenterKeys | None = None,
               **fields) -> bytes:
        """A bundle sealed (or, for HEARTBEAT/ANNOUNCE, signed) by the center as it is now."""
        keys = keys or self.center
        header = self.header(kind, **{"signing_key_id": keys.signing_key_id, **fields})
        if header.sealed and "master_key_id" not in fields:
            header = dataclasses.replace(header, master_key_id=keys.current_master_id)
        return seal_bundle(header, body, keys)
