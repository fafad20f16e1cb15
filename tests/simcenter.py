"""One simulated center for the terminal's attack tests (python-tuf's ``RepositorySimulator``):
a root (k of n), a key set, the center's online keys and its list history, producing every
kind of thing a terminal can be handed, genuine or "as an attacker would make it".

Tests mutate the simulated center (steal a key, fork the history, push a fast-forward, retire
a key, start an epoch), hand the store what it makes, and assert. Nothing here reads the clock:
``NOW`` is fixed and every method takes ``now``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from crypto import (
    NO_DIGEST,
    BundleHeader,
    BundleKind,
    CenterKeys,
    KeySet,
    KeySetMismatchError,
    MasterIdRange,
    RootKeys,
    RootSet,
    TerminalKeys,
    TokenKeyEntry,
    add_signing_key,
    adopt_keyset,
    bundle_digest,
    keyset_request,
    make_keyset,
    provision,
    roll_master_key,
    seal_bundle,
    sign_keyset,
    sign_root_set,
)
from framing import (
    AnnouncedBundle,
    HotList,
    ListDelta,
    Universe,
    diff,
    encode_announcement,
    encode_delta,
    encode_list,
)
from framing import bundle_digest as frame_digest

NOW = 1_790_000_000  # 2026-09-21, a fixed unix time
DAY_S = 86_400
YEAR_S = 366 * DAY_S
UNIVERSE = Universe.parse("4000000000000000-4999999999999999")


def make_hot(n: int, seed: int, universe: Universe = UNIVERSE) -> HotList:
    """``n`` distinct random IDs of ``universe`` (seeded), random reasons, no expiry."""
    rng = np.random.default_rng(seed)
    lo, hi = universe.ranges[0]
    ids = np.unique(rng.integers(lo, hi, size=n, dtype=np.uint64, endpoint=True))
    while len(ids) < n:
        more = rng.integers(lo, hi, size=n - len(ids), dtype=np.uint64, endpoint=True)
        ids = np.unique(np.concatenate([ids, more]))
    return HotList(ids=ids, reasons=rng.integers(0, 4, n).astype(np.uint8),
                   expiry=np.zeros(n, dtype=np.uint16))


class SimCenter:
    """A center as a terminal sees it. ``lists[(epoch, seq)] = (hot list, digest)``."""

    def __init__(self, *, root_keys: int = 1, threshold: int = 1, now: int = NOW,
                 universe: Universe = UNIVERSE) -> None:
        self.now = now
        self.universe = universe
        self.root = RootKeys.generate(root_keys)
        self.root_set = RootSet.for_keys(self.root, threshold)
        self.root_pub = sign_root_set(self.root_set, self.root)
        self.root_chain: list[bytes] = []  # rotations after v1, as signed
        self.keys = CenterKeys.generate()
        self.keyset: KeySet | None = None
        self.keyset_bytes = b""
        self.lists: dict[tuple[int, int], tuple[HotList, bytes]] = {}
        self.sign_keyset(self._request())

    # -- trust --------------------------------------------------------------------------
    def _request(self, *, keys: CenterKeys | None = None, signing_ids=None, token_keys=(),
                 valid_from: int | None = None, valid_for: int = YEAR_S):
        keys = self.keys if keys is None else keys
        start = self.now - DAY_S if valid_from is None else valid_from
        ids = MasterIdRange(1, 1000, start, start + valid_for)
        return keyset_request(keys, valid_from=start, expires=start + valid_for, master_ids=ids,
                              signing_key_ids=signing_ids, token_keys=token_keys)

    def sign_keyset(self, request, *, new_epoch: bool = False, signers: RootKeys | None = None
                    ) -> bytes:
        """The next key set for ``request``, signed (by the whole root unless ``signers``);
        becomes the simulator's current set."""
        keyset = make_keyset(request, root=self.root_set, previous=self.keyset,
                             new_epoch=new_epoch)
        signed = sign_keyset(keyset, self.root if signers is None else signers)
        self.keyset, self.keyset_bytes = keyset, signed
        try:
            self.keys = adopt_keyset(self.keys, keyset, max(self.now, keyset.valid_from))
        except KeySetMismatchError:
            pass  # a set that lists none of our keys (a kill switch): we keep ours, unusable
        return signed

    def replace_signing_key(self, *, keep_old_for_tokens: bool = False,
                            new_epoch: bool = False) -> bytes:
        """The root's answer to a leaked signing key: a new key, a key set without the old one
        (kept as a token key only if asked), optionally a new epoch. Returns the signed set."""
        old = self.keys.signing_key
        self.keys = add_signing_key(self.keys, self.keyset)
        new_id = max(k.key_id for k in self.keys.signing_keys)
        tokens = (TokenKeyEntry(old.key_id, old.public_key, self.now + YEAR_S),) \
            if keep_old_for_tokens else ()
        return self.sign_keyset(self._request(signing_ids=(new_id,), token_keys=tokens),
                                new_epoch=new_epoch)

    def rotate_root(self, *, add: int = 1, remove: tuple[int, ...] = (),
                    threshold: int | None = None, sign_with_old: bool = True) -> bytes:
        """The next root set, signed by the old threshold (unless told not to) and the new."""
        first = max(i for i, _ in self.root_set.keys) + 1
        fresh = RootKeys.generate(add, first) if add else RootKeys(())
        keys = tuple((i, p) for i, p in self.root_set.keys if i not in remove) + fresh.public_keys
        new = RootSet(self.root_set.version + 1,
                      self.root_set.threshold if threshold is None else threshold, keys)
        old_signers = self.root.keys if sign_with_old else ()
        signers = RootKeys(tuple(sorted(
            {k.key_id: k for k in old_signers + fresh.keys}.values(), key=lambda r: r.key_id)))
        signed = sign_root_set(new, signers)
        kept = tuple(k for k in self.root.keys if k.key_id not in remove) + fresh.keys
        self.root, self.root_set = RootKeys(kept), new
        self.root_chain.append(signed)
        return signed

    def terminal_keys(self) -> TerminalKeys:
        """What ``center provision`` gives a terminal: root set v1, the key set, master keys."""
        first_root = RootSet.decode(_body_of(self.root_pub))
        return provision(self.keys, first_root, self.keyset)

    # -- bundles ------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return self.keyset.epoch

    def head(self, epoch: int | None = None) -> tuple[int, bytes]:
        """(seq, digest) of the newest list of ``epoch`` (0, zeros before the first)."""
        epoch = self.epoch if epoch is None else epoch
        seqs = [s for e, s in self.lists if e == epoch]
        if not seqs:
            return 0, NO_DIGEST
        return max(seqs), self.lists[(epoch, max(seqs))][1]

    def _seal(self, kind: BundleKind, body: bytes, *, seq: int, base: int = 0,
              prev: bytes = NO_DIGEST, epoch: int | None = None, now: int | None = None,
              valid_for: int = DAY_S, keys: CenterKeys | None = None) -> bytes:
        keys = self.keys if keys is None else keys
        created = self.now if now is None else now
        sealed_kind = kind in (BundleKind.FULL, BundleKind.DELTA, BundleKind.MASTER_ROLL)
        header = BundleHeader(kind=kind, epoch=self.epoch if epoch is None else epoch, seq=seq,
                              base_seq=base, created_at=created, valid_until=created + valid_for,
                              master_key_id=keys.current_master_id if sealed_kind else 0,
                              signing_key_id=keys.signing_key_id, prev_digest=prev)
        return seal_bundle(header, body, keys)

    def full(self, hot: HotList, *, seq: int | None = None, record: bool = True,
             prev: bytes | None = None, **kw) -> bytes:
        """The next full list (or one at ``seq``), chained to the head unless ``prev``."""
        epoch = kw.get("epoch", self.epoch)
        head_seq, head_digest = self.head(epoch)
        seq = head_seq + 1 if seq is None else seq
        data = self._seal(BundleKind.FULL, encode_list(hot, self.universe), seq=seq,
                          prev=head_digest if prev is None else prev, **kw)
        if record:
            self.lists[(epoch, seq)] = (hot, bundle_digest(data))
        return data

    def delta(self, hot: HotList, base: int, *, record: bool = True, **kw) -> bytes:
        """The next list as a cumulative delta that takes any list from ``base`` up to it."""
        epoch = kw.get("epoch", self.epoch)
        head_seq, head_digest = self.head(epoch)
        touched = np.zeros(0, dtype=np.uint64)
        for s in range(base, head_seq + 1):
            before = self.lists[(epoch, s)][0]
            after = self.lists[(epoch, s + 1)][0] if s < head_seq else hot
            change = diff(before, after)
            touched = np.union1d(touched, np.union1d(change.added.ids, change.removed))
        delta = ListDelta(added=hot.select(np.isin(hot.ids, touched)),
                          removed=touched[~np.isin(touched, hot.ids)])
        seq = head_seq + 1
        data = self._seal(BundleKind.DELTA, encode_delta(delta, self.universe), seq=seq,
                          base=base, prev=head_digest, **kw)
        if record:
            self.lists[(epoch, seq)] = (hot, bundle_digest(data))
        return data

    def roll_master(self) -> bytes:
        new_id = max(m.key_id for m in self.keys.master_keys) + 1
        self.keys, data = roll_master_key(self.keys, self.keyset, seq=new_id, created_at=self.now,
                                          valid_until=self.now + YEAR_S)
        return data

    def heartbeat(self, *, now: int | None = None, seq: int | None = None,
                  digest: bytes | None = None, valid_for: int = 3600) -> bytes:
        head_seq, head_digest = self.head()
        return self._seal(BundleKind.HEARTBEAT, b"", seq=head_seq if seq is None else seq,
                          prev=head_digest if digest is None else digest, now=now,
                          valid_for=valid_for)

    def announce(self, items: list[tuple[int, int, bytes]], *, seq: int = 1) -> bytes:
        """An ANNOUNCE naming (stream, seq, bundle bytes) items."""
        body = encode_announcement([AnnouncedBundle(st, sq, frame_digest(b), len(b))
                                    for st, sq, b in items])
        return self._seal(BundleKind.ANNOUNCE, body, seq=seq)

    def stolen(self) -> CenterKeys:
        """The online keys as a thief holds them now (they keep working for the thief)."""
        return dataclasses.replace(self.keys)


def _body_of(signed: bytes) -> bytes:
    from crypto import read_unverified_root_set

    return read_unverified_root_set(signed).encode()
