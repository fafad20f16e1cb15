"""BundleMerger: completed bundles -> the store, as typed events (applied, held, unchanged,
superseded, rejected, fork detected, not following).

Bundles come from the simulated center (``tests/simcenter.py``) in the order a carousel may
deliver them; named after what they stop (python-tuf style): forged bundles, replays,
mix-and-match, forks, a frozen channel.
"""

from __future__ import annotations

import pytest

from crypto import NO_DIGEST, BundleKind, MetadataType
from receiver.events import (
    BundleApplied,
    BundleHeld,
    BundleReceived,
    BundleSuperseded,
    BundleUnchanged,
    ForkDetected,
    Position,
    Summary,
)
from receiver.store.merge import BundleMerger
from receiver.store.state import NOT_FOLLOWING_AFTER_S
from receiver.store.store import TerminalStore
from terminal_helpers import DAY_S, NOW, full_dump, make_hot

AT = Position(sample=100, t_s=0.5)
FIRST, SECOND, THIRD = make_hot(50, seed=71), make_hot(55, seed=72), make_hot(52, seed=73)


def got(data: bytes) -> BundleReceived:
    return BundleReceived(at=AT, data=data, snr_db=20.0, freq_offset_hz=None, ber=0.0)


def names(events) -> list[str]:
    return [e.name for e in events]


@pytest.fixture
def lists(sim):
    """Full seq 1 and a cumulative delta seq 2 from it, as a carousel carries them."""
    return sim.full(FIRST), sim.delta(SECOND, base=1)


def test_full_then_delta_apply_with_position_and_quality(store, lists):
    out = BundleMerger(store).process([got(lists[0]), got(lists[1])], NOW)
    assert [(type(e), e.seq, e.kind, e.entries) for e in out] == [
        (BundleApplied, 1, BundleKind.FULL, 50), (BundleApplied, 2, BundleKind.DELTA, 55)]
    assert out[0].at == AT and out[0].snr_db == 20.0 and not out[0].held
    line = out[0].to_json()
    assert line == {"event": "bundle_applied", "seq": 1, "kind": "full", "entries": 50,
                    "held": False, "snr_db": 20.0, "freq_offset_hz": None, "ber": 0.0,
                    "sample": 100, "t_s": 0.5}
    assert store.state().seq == 2 and store.hot_list().equals(SECOND)


def test_events_other_than_received_bundles_pass_through(store):
    from receiver.events import InputProblem

    problem = InputProblem(at=AT, problem="flat", why="silence")
    assert BundleMerger(store).process([problem], NOW) == [problem]


def test_carousel_repeats_are_reported_once_per_bundle(store, lists):
    m = BundleMerger(store)
    out = m.process([got(lists[0])] * 4, NOW)
    assert names(out) == ["bundle_applied", "bundle_unchanged"]
    assert m.process([got(lists[0])], NOW) == []
    assert (m.applied, m.unchanged) == (1, 1)


def test_repeats_of_different_kinds_with_one_number_are_each_reported(store, sim, lists):
    """A key set v1 and a list seq 1 are different things: each repeat is reported once."""
    m = BundleMerger(store)
    m.process([got(lists[0])], NOW)
    out = m.process([got(sim.keyset_bytes), got(lists[0])], NOW)
    assert [(type(e), e.kind, e.seq) for e in out] == [
        (BundleUnchanged, MetadataType.KEY_SET, 1), (BundleUnchanged, BundleKind.FULL, 1)]


def test_delta_heard_before_its_full_bundle_is_held_then_applied(store, lists):
    m = BundleMerger(store)
    out = m.process([got(lists[1]), got(lists[1]), got(lists[0])], NOW)
    assert isinstance(out[0], BundleHeld) and (out[0].seq, out[0].kind) == (2, BundleKind.DELTA)
    assert "DeltaBaseError" in out[0].why
    assert [(type(e), e.seq, e.held) for e in out[1:]] == [(BundleApplied, 1, False),
                                                          (BundleApplied, 2, True)]
    assert store.state().entries == 55 and (m.held, m.applied) == (1, 2)


def test_a_list_under_a_new_signing_key_waits_for_its_key_set(store, sim):
    store.apply_bundle(sim.full(FIRST), NOW)
    keyset = sim.replace_signing_key()
    data = sim.full(SECOND)  # signed by key 2, which key set v2 brings
    out = BundleMerger(store).process([got(data), got(keyset)], NOW)
    assert isinstance(out[0], BundleHeld) and "UnknownSigningKeyError" in out[0].why
    assert [(e.kind, e.seq, e.held) for e in out[1:]] == [(MetadataType.KEY_SET, 2, False),
                                                          (BundleKind.FULL, 2, True)]
    assert store.state().seq == 2


def test_a_list_heard_before_the_master_roll_it_needs_is_held(store, sim):
    roll = sim.roll_master()
    data = sim.full(FIRST)  # sealed under master key 2
    out = BundleMerger(store).process([got(data), got(roll)], NOW)
    assert isinstance(out[0], BundleHeld) and "UnknownMasterKeyError" in out[0].why
    assert [(e.kind, e.held) for e in out[1:]] == [(BundleKind.MASTER_ROLL, False),
                                                   (BundleKind.FULL, True)]


def test_root_rotations_heard_out_of_order_are_chained(store, sim):
    v2, v3 = sim.rotate_root(), sim.rotate_root()
    keyset = sim.replace_signing_key()  # under root v3
    out = BundleMerger(store).process([got(keyset), got(v3), got(v2)], NOW)
    assert names(out) == ["bundle_held", "bundle_held", "bundle_applied", "bundle_applied",
                          "bundle_applied"]
    assert [(e.kind, e.seq) for e in out[2:]] == [(MetadataType.ROOT_SET, 2),
                                                  (MetadataType.ROOT_SET, 3),
                                                  (MetadataType.KEY_SET, 2)]
    assert store.keys().root_set.version == 3 and store.keys().keyset.version == 2


def test_the_parsed_keys_are_kept_until_the_stored_keys_change(store, sim):
    before = store.keys()
    assert store.keys() is before  # parsed once while the stored bytes stay the same
    BundleMerger(store).process([got(sim.rotate_root())], NOW)
    after = store.keys()
    assert after is not before and after.root_set.version == before.root_set.version + 1
    with TerminalStore.open(store.path.parent) as again:
        assert again.keys() == after  # as stored


def test_forged_bundle_on_air_is_rejected_once_and_store_untouched(store, home, lists):
    forged = bytearray(lists[0])
    forged[-40] ^= 0x01  # a bit of the signature
    before = full_dump(home)
    m = BundleMerger(store)
    out = m.process([got(bytes(forged))] * 3, NOW)
    assert names(out) == ["bundle_rejected"] and "SignatureError" in out[0].why
    assert out[0].claimed_seq == 1 and len(out[0].sha256) == 64
    assert full_dump(home) == before and m.rejected == 1


def test_bundle_from_another_center_is_rejected(store, other_sim):
    out = BundleMerger(store).process([got(other_sim.full(FIRST))], NOW)
    assert names(out) == ["bundle_rejected"] and store.state().seq == 0


def test_replayed_old_bundle_is_refused_as_superseded(store, home, lists):
    """A genuine older bundle (a replay, or the full bundle going round after its delta) is
    refused as a rollback and reported once as superseded, not as a forgery."""
    m = BundleMerger(store)
    m.process([got(lists[0]), got(lists[1])], NOW)
    before = store.hot_list()
    out = m.process([got(lists[0])] * 3, NOW)
    assert out == [BundleSuperseded(at=AT, seq=1, list_seq=2)]
    assert store.state().seq == 2 and store.hot_list().equals(before)
    assert m.superseded == 1 and m.rejected == 0


def test_a_frozen_channel_is_reported_as_not_following(store, sim, lists):
    """Only lists older than the one held, for longer than a heartbeat or cycle allows: the
    terminal says once that it no longer follows the center, and again after it recovers."""
    m = BundleMerger(store)
    m.process([got(lists[0]), got(lists[1])], NOW)
    assert m.process([got(lists[0])], NOW + NOT_FOLLOWING_AFTER_S) == [
        BundleSuperseded(at=AT, seq=1, list_seq=2)]
    out = m.process([got(lists[0])], NOW + NOT_FOLLOWING_AFTER_S + 1)
    assert names(out) == ["not_following"] and out[0].list_seq == 2
    assert out[0].seconds == NOT_FOLLOWING_AFTER_S + 1
    assert m.process([got(lists[0])], NOW + NOT_FOLLOWING_AFTER_S + 2) == []  # said once
    assert store.status(NOW + NOT_FOLLOWING_AFTER_S + 2)["following"] is False
    m.process([got(lists[1])], NOW + NOT_FOLLOWING_AFTER_S + 3)  # the current list again
    assert store.state().following(NOW + NOT_FOLLOWING_AFTER_S + 3)


def test_a_second_list_for_the_seq_held_is_a_fork(store, home, sim, lists):
    BundleMerger(store).process([got(lists[0])], NOW)
    fork = sim.full(THIRD, seq=1, prev=NO_DIGEST, record=False)
    before = full_dump(home)
    m = BundleMerger(store)
    out = m.process([got(fork)] * 2, NOW)
    assert [type(e) for e in out] == [ForkDetected]
    assert (out[0].epoch, out[0].seq) == (1, 1) and "forked" in out[0].why
    assert full_dump(home) == before and m.rejected == 1


def test_a_held_bundle_that_turns_out_to_fork_is_reported_as_a_fork(store, sim):
    """A delta held for its base, whose chain does not meet the base that then arrives."""
    full_1 = sim.full(FIRST)
    genuine_2 = sim.full(SECOND, record=False)  # seq 2, chained to seq 1
    sim.full(THIRD)  # the forked center's seq 2
    forked_3 = sim.delta(FIRST, base=2)  # seq 3, chained to the forked seq 2
    m = BundleMerger(store)
    out = m.process([got(full_1), got(forked_3), got(genuine_2)], NOW)
    assert [type(e) for e in out] == [BundleApplied, BundleHeld, BundleApplied, ForkDetected]
    assert out[3].seq == 3 and store.state().seq == 2


def test_heartbeats_are_applied_when_newer(store, sim, lists):
    m = BundleMerger(store)
    m.process([got(lists[0])], NOW)
    beat = sim.heartbeat(now=NOW + 60)
    out = m.process([got(beat), got(beat)], NOW + 60)
    assert [(type(e), e.kind) for e in out] == [(BundleApplied, BundleKind.HEARTBEAT),
                                                (BundleUnchanged, BundleKind.HEARTBEAT)]
    assert m.process([got(sim.heartbeat(now=NOW + 30))], NOW + 60) == []  # older: said once
    assert store.state().heartbeat_created_at == NOW + 60


def test_expired_bundle_is_rejected(store, lists):
    out = BundleMerger(store).process([got(lists[0])], NOW + 2 * DAY_S)
    assert names(out) == ["bundle_rejected"] and "ExpiredBundleError" in out[0].why
    assert store.state().seq == 0


def test_garbage_that_completed_reassembly_is_rejected(store):
    out = BundleMerger(store).process([got(b"\x00" * 700)], NOW)
    assert names(out) == ["bundle_rejected"] and out[0].claimed_seq is None


def test_summary_gains_the_merge_counts(store, lists):
    m = BundleMerger(store)
    m.process([got(lists[1]), got(lists[0]), got(lists[1]), got(lists[0]), got(b"junk")], NOW)
    summary = Summary(at=AT, frames_ok=5, frames_bad=1, seconds_of_signal=1.5, samples=10,
                      frames_corrected=0, headers_bad=1, headers_absurd=0, payloads_bad=0,
                      lock_lost=0, blocks_inconsistent=0, bundles_bad_digest=0,
                      bundles_received=4, ber=0.0)
    (s,) = m.process([summary], NOW)
    assert (s.bundles_applied, s.bundles_held, s.bundles_unchanged, s.bundles_rejected,
            s.bundles_superseded) == (2, 1, 1, 1, 1)
    assert (s.frames_ok, s.frames_bad, s.samples) == (5, 1, 10)
    line = s.to_json()
    assert line["event"] == "summary" and line["bundles_applied"] == 2


def test_held_bundles_are_bounded(store, sim):
    sim.full(FIRST)
    deltas = [sim.delta(make_hot(20 + i, seed=80 + i), base=1) for i in range(3)]
    m = BundleMerger(store, max_waiting=2)
    m.process([got(d) for d in deltas], NOW)
    assert len(m._waiting) == 2  # the oldest was dropped
    corrupt = deltas[0][:-1] + bytes([deltas[0][-1] ^ 1])
    m.process([got(corrupt)], NOW)  # not retryable: never held
    assert len(m._waiting) == 2
    tiny = BundleMerger(store, max_waiting_bytes=len(deltas[0]) - 1)
    tiny.process([got(deltas[0])], NOW)
    assert len(tiny._waiting) == 0


def test_misuse_is_a_value_error(store):
    with pytest.raises(ValueError):
        BundleMerger(store, memory=0)
    with pytest.raises(ValueError):
        BundleMerger(store, max_waiting=-1)


def test_whatever_the_order_a_carousel_cycle_ends_at_the_newest_list(tmp_path, sim):
    """Trust, roll and lists of one cycle, heard in every rotation of the cycle (a terminal
    tunes in anywhere), then the cycle again: the store ends at the newest list."""
    from receiver.store.store import TerminalStore

    keys = sim.terminal_keys()
    keyset = sim.replace_signing_key()
    roll = sim.roll_master()
    full = sim.full(FIRST)
    delta = sim.delta(SECOND, base=1)
    cycle = [keyset, roll, full, delta]
    for start in range(len(cycle)):
        heard = cycle[start:] + cycle[:start]
        with TerminalStore.create(tmp_path / f"t{start}", keys) as store:
            BundleMerger(store).process([got(d) for d in heard + heard], NOW)
            assert store.state().seq == 2 and store.hot_list().equals(SECOND), start


def test_a_verified_announcement_gives_no_bundle_event(store, sim, lists):
    # An announcement is carousel metadata (heard_on_air reports it; the reassembler uses it):
    # it is no bundle the store holds, so it is neither "applied" nor "unchanged".
    announcement = sim.announce([(int(BundleKind.FULL), 1, lists[0])])
    m = BundleMerger(store)
    assert m.process([got(announcement)] * 2, NOW) == []
    assert (m.applied, m.unchanged, m.rejected) == (0, 0, 0)
    assert names(m.process([got(lists[0])], NOW)) == ["bundle_applied"]
