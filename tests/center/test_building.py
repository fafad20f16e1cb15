"""Bundles built by a center home open on a provisioned terminal and say what the registry says."""

from __future__ import annotations

import hashlib
import os
import stat

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR, dump_home

import center.registry.home as home_module
from center.errors import HomeError, ListedCardError, UnknownSeqError
from center.registry.home import KEYS_FILE, PENDING_KEYS_FILE, CenterHome
from crypto import (
    BundleKind,
    CenterKeys,
    TerminalKeys,
    apply_key_roll,
    check_token,
    open_bundle,
)
from framing import Reason, Universe, decode_delta, decode_list, month_code, patch

DAY_S = 86_400


def terminal(home: CenterHome) -> TerminalKeys:
    return TerminalKeys.from_bytes(home.provision(now=NOW, by=OPERATOR))


def registry_ids(home: CenterHome) -> list[int]:
    return [e.card_id for e in home.list_entries()]


def test_full_bundle_opens_and_decodes_to_the_registry(home) -> None:
    home.revoke(["4929123412341234", "1"], "lost", now=NOW, by=OPERATOR)
    built = home.build(now=NOW, by=OPERATOR)
    opened = open_bundle(built.sealed, terminal(home))
    h = opened.header
    assert (h.kind, h.seq, h.base_seq, h.created_at, h.valid_until) == (
        BundleKind.FULL, 1, 0, NOW, NOW + DAY_S)
    universe, hot = decode_list(opened.body)
    assert str(universe) == "0-9999999999999999999"
    assert hot.ids.tolist() == [1, 4929123412341234]
    assert hot.reasons.tolist() == [Reason.LOST, Reason.LOST]
    assert built.sha256 == hashlib.sha256(built.sealed).hexdigest()
    assert built.entries == 2


def test_delta_from_any_earlier_list_patches_to_the_current_list(home) -> None:
    keys = terminal(home)
    home.revoke([str(i) for i in range(1, 50)], now=NOW, by=OPERATOR)
    first = home.build(now=NOW, by=OPERATOR)
    home.reinstate(["3", "4"], now=NOW, by=OPERATOR)
    home.revoke(["1000"], "fraud", now=NOW, by=OPERATOR)
    second = home.build(BundleKind.DELTA, first.seq, now=NOW, by=OPERATOR)
    home.revoke(["5"], "other", now=NOW, by=OPERATOR)
    _, full0 = decode_list(open_bundle(first.sealed, keys).body)
    _, delta0 = decode_delta(open_bundle(second.sealed, keys).body)
    lists_at = {first.seq: full0, second.seq: patch(full0, delta0)}
    for base in (first, second):
        delta_bundle = home.build(BundleKind.DELTA, base.seq, now=NOW, by=OPERATOR)
        opened = open_bundle(delta_bundle.sealed, keys)
        assert opened.header.kind is BundleKind.DELTA and opened.header.base_seq == base.seq
        _, delta = decode_delta(opened.body)
        now_list = patch(lists_at[base.seq], delta)
        assert now_list.ids.tolist() == registry_ids(home)
        assert delta_bundle.entries == len(now_list)
    assert second.added == 1 and second.removed == 2


def test_sequence_numbers_grow_across_all_kinds(home) -> None:
    seqs = [home.build(now=NOW, by=OPERATOR).seq,
            home.rotate_master(now=NOW, by=OPERATOR).seq,
            home.build(BundleKind.DELTA, 1, now=NOW, by=OPERATOR).seq,
            home.rotate_signing(now=NOW, by=OPERATOR).seq,
            home.build(now=NOW, by=OPERATOR).seq]
    assert seqs == [1, 2, 3, 4, 5]
    assert [row["seq"] for row in home.history()] == seqs


def test_delta_base_must_be_a_built_list(home) -> None:
    home.build(now=NOW, by=OPERATOR)
    home.rotate_master(now=NOW, by=OPERATOR)
    before = dump_home(home.path)
    with pytest.raises(UnknownSeqError, match="seq 7: it was never built"):
        home.build(BundleKind.DELTA, 7, now=NOW, by=OPERATOR)
    with pytest.raises(UnknownSeqError, match="seq 2: it is a master_roll bundle"):
        home.build(BundleKind.DELTA, 2, now=NOW, by=OPERATOR)
    assert dump_home(home.path) == before


def test_expired_cards_are_left_out_of_bundles(home) -> None:
    # NOW is 2026-09: August has passed, September is still good, no expiry is forever.
    home.import_csv("1,stolen,2026-08\n2,stolen,2026-09\n3,stolen\n", now=NOW, by=OPERATOR)
    built = home.build(now=NOW, by=OPERATOR)
    _, hot = decode_list(open_bundle(built.sealed, terminal(home)).body)
    assert hot.ids.tolist() == [2, 3]
    assert hot.expiry.tolist() == [month_code(2026, 9), 0]
    assert registry_ids(home) == [1, 2, 3]


def test_validity_time_is_configurable(home) -> None:
    built = home.build(now=NOW, by=OPERATOR, valid_for_s=3600)
    assert built.valid_until == NOW + 3600
    with pytest.raises(ValueError, match="valid_for_s"):
        home.build(now=NOW, by=OPERATOR, valid_for_s=0)


def test_master_roll_lets_an_old_terminal_open_new_bundles(home) -> None:
    old_terminal = terminal(home)
    home.revoke(["77"], now=NOW, by=OPERATOR)
    roll = home.rotate_master(now=NOW, by=OPERATOR)
    assert roll.kind is BundleKind.MASTER_ROLL
    built = home.build(now=NOW, by=OPERATOR)
    assert open_bundle(built.sealed, terminal(home)).header.master_key_id == roll.announces_key
    updated = apply_key_roll(open_bundle(roll.sealed, old_terminal), old_terminal)
    _, hot = decode_list(open_bundle(built.sealed, updated).body)
    assert hot.ids.tolist() == [77]


def test_signer_roll_lets_an_old_terminal_verify_new_bundles(home) -> None:
    old_terminal = terminal(home)
    roll = home.rotate_signing(now=NOW, by=OPERATOR)
    built = home.build(now=NOW, by=OPERATOR)
    updated = apply_key_roll(open_bundle(roll.sealed, old_terminal), old_terminal)
    assert open_bundle(built.sealed, updated).header.signing_key_id == roll.announces_key


def test_carousel_is_rolls_latest_full_and_newer_deltas_in_seq_order(home) -> None:
    assert home.carousel() == []
    home.build(now=NOW, by=OPERATOR)                       # 1 full (superseded)
    home.rotate_master(now=NOW, by=OPERATOR)               # 2 roll
    home.build(BundleKind.DELTA, 1, now=NOW, by=OPERATOR)           # 3 delta (before the latest full)
    home.build(now=NOW, by=OPERATOR)                       # 4 full
    home.build(BundleKind.DELTA, 4, now=NOW, by=OPERATOR)           # 5 delta
    home.rotate_signing(now=NOW, by=OPERATOR)              # 6 roll
    home.build(BundleKind.DELTA, 4, now=NOW, by=OPERATOR)           # 7 delta
    on_air = home.carousel()
    assert [(b.seq, b.kind) for b in on_air] == [
        (2, BundleKind.MASTER_ROLL), (4, BundleKind.FULL), (5, BundleKind.DELTA), (6, BundleKind.SIGNER_ROLL), (7, BundleKind.DELTA)]
    assert on_air[1].sealed == home.bundle(4).sealed


def test_keys_file_is_private_and_rotation_replaces_it(home) -> None:
    mode = stat.S_IMODE(os.stat(home.path / KEYS_FILE).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(home.path).st_mode) == 0o700
    before = CenterKeys.from_bytes((home.path / KEYS_FILE).read_bytes())
    home.rotate_master(now=NOW, by=OPERATOR)
    after = CenterKeys.from_bytes((home.path / KEYS_FILE).read_bytes())
    assert after.current_master_id != before.current_master_id
    assert stat.S_IMODE(os.stat(home.path / KEYS_FILE).st_mode) == 0o600
    assert not (home.path / PENDING_KEYS_FILE).exists()


def test_pending_keys_of_an_unrecorded_roll_are_dropped(home) -> None:
    # A crash after writing the pending keys but before the roll committed: the roll never
    # happened, so the live keys stay and the pending file goes.
    live = (home.path / KEYS_FILE).read_bytes()
    (home.path / PENDING_KEYS_FILE).write_bytes(CenterKeys.generate().to_bytes())
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
    keys = CenterKeys.from_bytes((home.path / KEYS_FILE).read_bytes())
    assert keys.current_master_id == list(home.history())[0]["announces_key"]
    assert not (home.path / PENDING_KEYS_FILE).exists()


def test_provisioned_terminal_checks_issued_tokens(home) -> None:
    token = home.issue_token("4929123412341234", NOW + DAY_S, now=NOW, by=OPERATOR)
    card = check_token(token, 4929123412341234, NOW, terminal(home))
    assert card.valid_until == NOW + DAY_S


def test_a_listed_card_gets_no_token(home) -> None:
    home.revoke(["4929123412341234"], "fraud", now=NOW, by=OPERATOR)
    before = dump_home(home.path)
    with pytest.raises(ListedCardError, match=r"card 4929123412341234 is on the hot list \(fraud\)"):
        home.issue_token("4929123412341234", NOW + DAY_S, now=NOW, by=OPERATOR)
    assert dump_home(home.path) == before
    home.reinstate(["4929123412341234"], now=NOW, by=OPERATOR)
    assert len(home.issue_token("4929123412341234", NOW + DAY_S, now=NOW, by=OPERATOR)) == 85


def test_init_refuses_an_existing_home_and_open_a_missing_one(tmp_path, home) -> None:
    with pytest.raises(HomeError, match="already initialised"):
        CenterHome.init(home.path, now=NOW, by=OPERATOR)
    with pytest.raises(HomeError, match="no center home"):
        CenterHome.open(tmp_path / "nowhere")


def test_init_with_a_universe(tmp_path) -> None:
    universe = Universe(((4_000_000_000_000_000, 4_999_999_999_999_999),))
    with CenterHome.init(tmp_path / "h", universe, now=NOW, by=OPERATOR) as h:
        h.revoke(["4929123412341234"], now=NOW, by=OPERATOR)
        body_universe, hot = decode_list(open_bundle(h.build(now=NOW, by=OPERATOR).sealed,
                                                     terminal(h)).body)
    assert body_universe == universe and hot.ids.tolist() == [4929123412341234]
    with CenterHome.open(tmp_path / "h") as h:
        assert h.universe == universe
        assert np.array_equal(hot.ids, [e.card_id for e in h.list_entries()])


def test_concurrent_writers_never_share_a_sequence_number(home) -> None:
    import threading

    def writer(k: int) -> None:
        with CenterHome.open(home.path) as mine:
            for i in range(4):
                mine.revoke([str(100 * k + i)], now=NOW, by=f"w{k}")
                mine.build(now=NOW, by=f"w{k}")
            mine.rotate_master(now=NOW, by=f"w{k}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [row["seq"] for row in home.history()] == list(range(1, 16))
    keys = CenterKeys.from_bytes((home.path / KEYS_FILE).read_bytes())
    assert keys.current_master_id == 4  # three rolls, each from the keys the last one wrote
    assert home.count() == 12


def test_key_rolls_outlive_list_bundles_by_default(home) -> None:
    roll = home.rotate_master(now=NOW, by=OPERATOR)
    built = home.build(now=NOW, by=OPERATOR)
    assert built.valid_until - NOW == DAY_S
    assert roll.valid_until - NOW == 366 * DAY_S


def test_expired_rolls_leave_the_carousel(home) -> None:
    home.rotate_master(now=NOW, by=OPERATOR, valid_for_s=60)   # 1
    home.rotate_signing(now=NOW, by=OPERATOR)                  # 2, a year
    home.build(now=NOW, by=OPERATOR)                           # 3
    assert [b.seq for b in home.carousel(NOW + 60)] == [1, 2, 3]
    assert [b.seq for b in home.carousel(NOW + 61)] == [2, 3]
