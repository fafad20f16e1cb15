"""Bundles built by a center home open on a provisioned terminal and say what the registry says;
the hash chain, epochs, cumulative deltas, the published head, key sets and master rolls."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR, PASSPHRASE, dump_home, make_home, root_of

import center.registry.home as home_module
from center.errors import HomeError, ListedCardError, TrustImportError, UnknownSeqError
from center.registry.building import HistoryError
from center.registry.home import HEAD_FILE, KEYS_FILE, PENDING_KEYS_FILE, REQUEST_FILE, CenterHome
from crypto import (
    NO_DIGEST,
    BundleKind,
    CenterKeys,
    MetadataType,
    TerminalKeys,
    apply_master_roll,
    bundle_digest,
    check_token,
    open_bundle,
)
from framing import Reason, Universe, decode_delta, decode_list, diff, month_code, patch

DAY_S = 86_400


def terminal(home: CenterHome) -> TerminalKeys:
    return TerminalKeys.from_file(home.provision(now=NOW, by=OPERATOR))


def opened(home: CenterHome, built, keys: TerminalKeys | None = None):
    return open_bundle(built.sealed, (keys or terminal(home)).trust, NOW)


def registry_ids(home: CenterHome) -> list[int]:
    return [e.card_id for e in home.list_entries()]


def test_full_bundle_opens_and_decodes_to_the_registry(home) -> None:
    home.revoke(["4929123412341234", "1"], "lost", now=NOW, by=OPERATOR)
    built = home.build(now=NOW, by=OPERATOR)
    o = opened(home, built)
    h = o.header
    assert (h.kind, h.epoch, h.seq, h.base_seq, h.created_at, h.valid_until, h.prev_digest) == (
        BundleKind.FULL, 1, 1, 0, NOW, NOW + DAY_S, NO_DIGEST)
    universe, hot = decode_list(o.body)
    assert str(universe) == "0-9999999999999999999"
    assert hot.ids.tolist() == [1, 4929123412341234]
    assert hot.reasons.tolist() == [Reason.LOST, Reason.LOST]
    assert built.digest == bundle_digest(built.sealed) and built.entries == 2


def test_every_list_names_the_one_before_it(home) -> None:
    built = [home.build(now=NOW, by=OPERATOR)]
    home.revoke(["5"], now=NOW, by=OPERATOR)
    built.append(home.build(BundleKind.DELTA, now=NOW, by=OPERATOR))
    built.append(home.build(now=NOW, by=OPERATOR))
    assert [(b.epoch, b.seq) for b in built] == [(1, 1), (1, 2), (1, 3)]
    assert [b.prev for b in built[1:]] == [b.digest for b in built[:-1]]


def test_a_cumulative_delta_takes_every_list_from_its_base_to_the_newest(home) -> None:
    """Whatever base an operator picks, every terminal holding any list from it on lands on the
    newest list: cards revoked and reinstated in between included."""
    keys = terminal(home)
    home.revoke([str(i) for i in range(1, 50)], now=NOW, by=OPERATOR)
    lists = {}
    first = home.build(now=NOW, by=OPERATOR)
    lists[first.seq] = decode_list(opened(home, first, keys).body)[1]
    steps = [(["3", "4"], None), (None, ["1000"]), (["1000"], ["3"]), (None, ["4"])]
    for reinstate, revoke in steps:
        if reinstate:
            home.reinstate(reinstate, now=NOW, by=OPERATOR)
        if revoke:
            home.revoke(revoke, "fraud", now=NOW, by=OPERATOR)
        built = home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)  # base: the latest full
        assert built.base == first.seq
        lists[built.seq] = patch(lists[built.seq - 1], decode_delta(opened(home, built, keys).body)[1])
    for base in list(lists):
        delta = home.build(BundleKind.DELTA, base, now=NOW, by=OPERATOR)
        _, body = decode_delta(opened(home, delta, keys).body)
        for held_seq, held in list(lists.items()):
            if base <= held_seq:
                assert patch(held, body).ids.tolist() == registry_ids(home), (base, held_seq)
        lists[delta.seq] = patch(lists[base], body)


def test_cumulative_deltas_cost_little_over_plain_ones_on_a_realistic_history(home) -> None:
    """Over a day of reports (revokes, a few reinstatements, reason changes) a delta from the
    morning's full list is within 10 % of the plain diff of the two lists."""
    rng = np.random.default_rng(5)
    base_cards = rng.choice(10**9, size=20_000, replace=False) + 4_000_000_000_000_000
    home.revoke([str(c) for c in base_cards], now=NOW, by=OPERATOR)
    full = home.build(now=NOW, by=OPERATOR)
    keys = terminal(home)
    listed = set(int(c) for c in base_cards)
    for hour in range(24):
        new = rng.choice(10**9, size=40, replace=False) + 5_000_000_000_000_000
        home.revoke([str(c) for c in new], now=NOW, by=OPERATOR)
        listed |= set(int(c) for c in new)
        back = rng.choice(sorted(listed), size=2, replace=False)
        home.reinstate([str(c) for c in back], now=NOW, by=OPERATOR)
        listed -= set(int(c) for c in back)
        delta = home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)
    _, cumulative = decode_delta(opened(home, delta, keys).body)
    _, start = decode_list(opened(home, full, keys).body)
    _, end = decode_list(home._reg.list_bundle(1, delta.seq)["list_body"])
    plain = diff(start, end)
    assert len(cumulative.added) + cumulative.removed.size <= 1.10 * (
        len(plain.added) + plain.removed.size)


def test_the_first_list_of_an_epoch_is_a_full_one(home) -> None:
    with pytest.raises(HistoryError, match="first list must be a full one"):
        home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)


def test_delta_base_must_be_a_built_list_of_the_epoch(home) -> None:
    home.build(now=NOW, by=OPERATOR)
    home.rotate_master(now=NOW, by=OPERATOR)
    before = dump_home(home.path)
    with pytest.raises(UnknownSeqError, match="seq 7: epoch 1 has no list"):
        home.build(BundleKind.DELTA, 7, now=NOW, by=OPERATOR)
    assert dump_home(home.path) == before


def test_a_registry_restored_from_an_older_backup_is_refused(home, tmp_path) -> None:
    """The fork a restored center would make: it would reuse seqs with other content."""
    home.revoke(["1"], now=NOW, by=OPERATOR)
    home.build(now=NOW, by=OPERATOR)
    backup = tmp_path / "backup.sqlite"
    source, copy = sqlite3.connect(home.path / "registry.sqlite"), sqlite3.connect(backup)
    source.backup(copy)
    source.close()
    copy.close()
    home.revoke(["2"], now=NOW, by=OPERATOR)
    home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)
    home.close()
    for side in ("-wal", "-shm"):
        (home.path / f"registry.sqlite{side}").unlink(missing_ok=True)
    (home.path / "registry.sqlite").write_bytes(backup.read_bytes())
    with CenterHome.open(home.path, PASSPHRASE) as restored:
        restored.revoke(["3"], now=NOW, by=OPERATOR)
        with pytest.raises(HistoryError, match="restored from an older backup"):
            restored.build(BundleKind.DELTA, now=NOW, by=OPERATOR)
    assert (home.path / HEAD_FILE).read_text().split()[:2] == ["1", "2"]


def test_expired_cards_are_left_out_of_bundles(home) -> None:
    # NOW is 2026-09: August has passed, September is still good, no expiry is forever.
    home._reg.upsert(np.array([1, 2, 3], np.uint64), np.zeros(3, np.uint8),
                     np.array([month_code(2026, 8), month_code(2026, 9), 0], np.uint16),
                     NOW, OPERATOR, "test", "")
    built = home.build(now=NOW, by=OPERATOR)
    _, hot = decode_list(opened(home, built).body)
    assert hot.ids.tolist() == [2, 3]
    assert hot.expiry.tolist() == [month_code(2026, 9), 0]
    assert registry_ids(home) == [1, 2, 3]


def test_validity_time_is_configurable(home) -> None:
    built = home.build(now=NOW, by=OPERATOR, valid_for_s=3600)
    assert built.valid_until == NOW + 3600
    with pytest.raises(ValueError, match="valid_for_s"):
        home.build(now=NOW, by=OPERATOR, valid_for_s=0)


def test_master_roll_lets_an_old_terminal_open_new_bundles(home) -> None:
    old = terminal(home)
    home.revoke(["77"], now=NOW, by=OPERATOR)
    roll = home.rotate_master(now=NOW, by=OPERATOR)
    assert roll.kind is BundleKind.MASTER_ROLL and roll.seq == roll.announces_key == 2
    built = home.build(now=NOW, by=OPERATOR)
    assert opened(home, built).header.master_key_id == 2
    updated = apply_master_roll(open_bundle(roll.sealed, old.trust, NOW), old)
    _, hot = decode_list(open_bundle(built.sealed, updated.trust, NOW).body)
    assert hot.ids.tolist() == [77]


def test_a_new_signing_key_signs_only_once_the_root_has_listed_it(home) -> None:
    """The online key cannot name its successor: a request goes to the root, and the key
    signs from the moment the root-signed set is imported."""
    before = terminal(home)
    request = home.request_keyset(now=NOW, by=OPERATOR, new_signing_key=True)
    assert opened(home, home.build(now=NOW, by=OPERATOR)).header.signing_key_id == 1
    signed = root_of(home).sign_keyset(request)
    assert home.import_trust([signed], now=NOW, by=OPERATOR) == [
        {"kind": "key_set", "version": 2, "epoch": 1, "valid_from": NOW}]
    built = home.build(now=NOW, by=OPERATOR)
    assert opened(home, built).header.signing_key_id == 2
    # A terminal still on key set v1 cannot open it until it hears the new set.
    with pytest.raises(Exception, match="signing key id 2 is not in key set v1"):
        open_bundle(built.sealed, before.trust, NOW)


def test_a_key_set_that_does_not_verify_is_refused_and_nothing_changes(home, tmp_path) -> None:
    other = make_home(tmp_path / "other")
    foreign = root_of(other).sign_keyset((home.path / REQUEST_FILE).read_bytes())
    before = dump_home(home.path)
    with pytest.raises(TrustImportError, match="key set"):
        home.import_trust([foreign], now=NOW, by=OPERATOR)
    assert dump_home(home.path) == before


def test_a_new_epoch_restarts_the_list_sequence(home) -> None:
    home.build(now=NOW, by=OPERATOR)
    home.build(now=NOW, by=OPERATOR)
    signed = root_of(home).sign_keyset(home.request_keyset(now=NOW, by=OPERATOR), new_epoch=True)
    home.import_trust([signed], now=NOW, by=OPERATOR)
    with pytest.raises(HistoryError, match="first list must be a full one"):
        home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)
    built = home.build(now=NOW, by=OPERATOR)
    assert (built.epoch, built.seq, built.prev) == (2, 1, NO_DIGEST)


def test_carousel_is_trust_rolls_latest_full_and_newest_delta(home) -> None:
    keyset = home.keyset(NOW)
    home.build(now=NOW, by=OPERATOR)                              # 1 full (superseded)
    home.rotate_master(now=NOW, by=OPERATOR)                      # roll to master 2
    home.build(BundleKind.DELTA, 1, now=NOW, by=OPERATOR)         # 2 delta
    home.build(now=NOW, by=OPERATOR)                              # 3 full
    home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)            # 4 delta
    home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)            # 5 delta (cumulative)
    on_air = home.carousel(NOW)
    assert [(b.kind, b.seq) for b in on_air] == [
        (MetadataType.KEY_SET, keyset.version), (BundleKind.MASTER_ROLL, 2),
        (BundleKind.FULL, 3), (BundleKind.DELTA, 5)]
    assert on_air[2].sealed == home.bundle(3).sealed


def test_air_extras_are_a_heartbeat_of_the_head_and_an_announcement(home) -> None:
    head = home.build(now=NOW, by=OPERATOR)
    items = home.carousel(NOW)
    beat, announce = home.air_extras(items, NOW)
    keys = terminal(home)
    h = open_bundle(beat.sealed, keys.trust, NOW).header
    assert (h.kind, h.epoch, h.seq, h.prev_digest) == (BundleKind.HEARTBEAT, 1, head.seq, head.digest)
    from framing import decode_announcement
    from framing import bundle_digest as frame_digest

    named = decode_announcement(open_bundle(announce.sealed, keys.trust, NOW).body)
    assert sorted((e.stream, e.seq, e.digest) for e in named) == sorted(
        (int(b.kind), b.seq, frame_digest(b.sealed)) for b in items)


def test_keys_file_is_private_and_encrypted(home) -> None:
    assert stat.S_IMODE(os.stat(home.path / KEYS_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home.path / "registry.sqlite").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home.path).st_mode) == 0o700
    data = (home.path / KEYS_FILE).read_bytes()
    with pytest.raises(Exception, match="wrong passphrase"):
        CenterKeys.from_file(data, "not the passphrase")
    before = CenterKeys.from_file(data, PASSPHRASE)
    home.rotate_master(now=NOW, by=OPERATOR)
    after = CenterKeys.from_file((home.path / KEYS_FILE).read_bytes(), PASSPHRASE)
    assert after.current_master_id == before.current_master_id + 1
    assert not (home.path / PENDING_KEYS_FILE).exists()


def test_pending_keys_of_an_unrecorded_roll_are_dropped(home) -> None:
    # A crash after writing the pending keys but before the roll committed: the roll never
    # happened, so the live keys stay and the pending file goes.
    live = (home.path / KEYS_FILE).read_bytes()
    (home.path / PENDING_KEYS_FILE).write_bytes(CenterKeys.generate().to_file(PASSPHRASE))
    home.revoke(["1"], now=NOW, by=OPERATOR)
    assert (home.path / KEYS_FILE).read_bytes() == live
    assert not (home.path / PENDING_KEYS_FILE).exists()


def test_pending_keys_of_a_recorded_roll_are_kept(home, monkeypatch) -> None:
    # A crash after the roll committed but before the rename: the new keys must win.
    def crash(path) -> None:
        raise OSError("crash")

    monkeypatch.setattr(home_module, "_promote_pending", crash)
    with pytest.raises(OSError, match="crash"):
        home.rotate_master(now=NOW, by=OPERATOR)
    monkeypatch.undo()
    assert (home.path / PENDING_KEYS_FILE).exists()
    home.build(now=NOW, by=OPERATOR)
    keys = CenterKeys.from_file((home.path / KEYS_FILE).read_bytes(), PASSPHRASE)
    assert keys.current_master_id == 2
    assert not (home.path / PENDING_KEYS_FILE).exists()


def test_provisioned_terminal_checks_issued_tokens(home) -> None:
    token = home.issue_token("4929123412341234", NOW + DAY_S, now=NOW, by=OPERATOR)
    card = check_token(token, 4929123412341234, NOW, terminal(home).keyset)
    assert card.valid_until == NOW + DAY_S


def test_a_listed_card_gets_no_token(home) -> None:
    home.revoke(["4929123412341234"], "fraud", now=NOW, by=OPERATOR)
    before = dump_home(home.path)
    with pytest.raises(ListedCardError, match=r"card 4929123412341234 is on the hot list \(fraud\)"):
        home.issue_token("4929123412341234", NOW + DAY_S, now=NOW, by=OPERATOR)
    assert dump_home(home.path) == before
    home.reinstate(["4929123412341234"], now=NOW, by=OPERATOR)
    assert len(home.issue_token("4929123412341234", NOW + DAY_S, now=NOW, by=OPERATOR)) == 85


def test_nothing_is_built_before_a_key_set_is_in_force(tmp_path) -> None:
    with make_home(tmp_path / "h", with_keyset=False) as h:
        with pytest.raises(HomeError, match="no key set is in force"):
            h.build(now=NOW, by=OPERATOR)
        with pytest.raises(HomeError, match="no key set is in force"):
            h.provision(now=NOW, by=OPERATOR)


def test_init_refuses_an_existing_home_and_open_a_missing_one(tmp_path, home) -> None:
    root_pub = root_of(home).root_set_bytes(1)
    with pytest.raises(HomeError, match="already initialised"):
        CenterHome.init(home.path, root_pub=root_pub, now=NOW, by=OPERATOR, passphrase="x")
    with pytest.raises(HomeError, match="no center home"):
        CenterHome.open(tmp_path / "nowhere")


def test_init_with_a_universe(tmp_path) -> None:
    universe = Universe(((4_000_000_000_000_000, 4_999_999_999_999_999),))
    with make_home(tmp_path / "h", universe) as h:
        h.revoke(["4929123412341234"], now=NOW, by=OPERATOR)
        body_universe, hot = decode_list(opened(h, h.build(now=NOW, by=OPERATOR)).body)
    assert body_universe == universe and hot.ids.tolist() == [4929123412341234]
    with CenterHome.open(tmp_path / "h") as h:
        assert h.universe == universe
        assert np.array_equal(hot.ids, [e.card_id for e in h.list_entries()])


def test_concurrent_writers_never_share_a_sequence_number(home) -> None:
    def writer(k: int) -> None:
        with CenterHome.open(home.path, PASSPHRASE) as mine:
            for i in range(4):
                mine.revoke([str(100 * k + i)], now=NOW, by=f"w{k}")
                mine.build(now=NOW, by=f"w{k}")
            mine.rotate_master(now=NOW, by=f"w{k}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lists = [(r["epoch"], r["seq"]) for r in home.history() if r["kind"] == "full"]
    assert lists == [(1, s) for s in range(1, 13)]
    keys = CenterKeys.from_file((home.path / KEYS_FILE).read_bytes(), PASSPHRASE)
    assert keys.current_master_id == 4  # three rolls, each from the keys the last one wrote
    assert home.count() == 12


def test_master_rolls_stay_on_air_while_their_id_is_in_range(home) -> None:
    roll = home.rotate_master(now=NOW, by=OPERATOR, valid_for_s=60)
    home.build(now=NOW, by=OPERATOR)
    later = NOW + 10 * DAY_S
    assert roll.valid_until < later
    assert [b.seq for b in home.carousel(later) if b.kind is BundleKind.MASTER_ROLL] == [2]


def test_a_list_built_before_a_key_set_renewal_still_opens_under_the_new_set(home) -> None:
    """A renewal that keeps the signing key keeps that key's start: the full list built before
    it is still on air, and a terminal that adopted the new set first must open it (found by
    the terminal trust tests: it was refused as signed before the key was valid)."""
    home.revoke(["77"], "stolen", now=NOW, by=OPERATOR)
    before = home.build(now=NOW, by=OPERATOR)
    later = NOW + 3600
    signed = root_of(home).sign_keyset(home.request_keyset(now=later, by=OPERATOR))
    home.import_trust([signed], now=later, by=OPERATOR)
    renewed = TerminalKeys.from_file(home.provision(now=later, by=OPERATOR))
    assert renewed.keyset.version == 2
    _, hot = decode_list(open_bundle(before.sealed, renewed.trust, later).body)
    assert hot.ids.tolist() == [77]
    # A new signing key starts at the renewal: nothing it could have signed before counts.
    request = home.request_keyset(now=later + 60, by=OPERATOR, new_signing_key=True)
    home.import_trust([root_of(home).sign_keyset(request)], now=later + 60, by=OPERATOR)
    assert [e.valid_from for e in home.keyset(later + 60).signing_keys] == [later + 60]
