"""Profile `ir`: blocks damaged in ways their burst count alone does not tell (several bursts
lost, a lost burst hidden by a spurious one, a false sync splitting a block)."""

from __future__ import annotations

import numpy as np

import modem.ir_suspect as suspect_module
from modem.ir import IR, IrDemodulator, IrModulator
from modem.ir_align import decode_aligned
from modem.ir_blocks import decode_lost, distance_probs, offset_probs

PER = IR.bits_per_block
LATTICE = IR.lattice_us


def stream(seconds, seed):
    bits = np.random.default_rng(seed).integers(0, 2, int(IR.bits_per_second * seconds)).astype(np.uint8)
    mod = IrModulator(IR)
    return bits, np.concatenate((mod.process(bits), mod.flush())).astype(np.int64)


def demodulate(d):
    dem = IrDemodulator(IR)
    return np.concatenate((dem.process(np.array(d, dtype=np.int32)), dem.flush())), dem.stats


def lose(d, mark):
    """Durations with the burst at value index ``mark`` lost (its space and both sides join)."""
    d = list(d)
    return d[: mark - 1] + [-(abs(d[mark - 1]) + d[mark] + abs(d[mark + 1]))] + d[mark + 2 :]


def add_pulse(d, space, at_us, width_us=200):
    """A spurious pulse ``at_us`` into the space at value index ``space``."""
    d = list(d)
    s = abs(d[space])
    return d[:space] + [-at_us, width_us, -(s - at_us - width_us)] + d[space + 1 :]


def confidently_wrong(llr, bits, block, limit=5.0):
    """Bits of ``block`` wrong with |LLR| > limit (e^-5: under 1 % if the LLRs are honest)."""
    got, sent = llr[block * PER : (block + 1) * PER], bits[block * PER : (block + 1) * PER].astype(bool)
    return int(np.count_nonzero(((got < 0) != sent) & (np.abs(got) > limit)))


def check_block(llr, bits, block, share):
    """No bit of ``block`` confidently wrong, a ``share`` of them confident; every other block exact."""
    got, sent = llr[block * PER : (block + 1) * PER], bits[block * PER : (block + 1) * PER].astype(bool)
    confident = np.abs(got) > 5
    assert np.array_equal((got < 0)[confident], sent[confident])
    assert np.mean(confident) > share
    others = np.concatenate((llr[: block * PER], llr[(block + 1) * PER : len(bits)]))
    sent = np.concatenate((bits[: block * PER], bits[(block + 1) * PER :]))[: len(others)]
    assert np.array_equal(others < 0, sent.astype(bool))


def test_two_bursts_lost_in_one_block_are_decoded_not_erased():
    bits, d = stream(0.5, seed=7)
    syncs = np.flatnonzero(d == IR.sync_mark_us)
    out = lose(lose(d, int(syncs[3]) + 12), int(syncs[3]) + 4)  # the later one first: indices hold
    llr, stats = demodulate(out)
    assert stats.blocks_erased == 0 and stats.blocks_repaired >= 1
    check_block(llr, bits, 3, share=0.2)  # the rest rightly weak: the two could be at several places


def test_a_lost_burst_hidden_by_a_spurious_one_with_every_distance_legal(monkeypatch):
    """A burst lost where the merged distance is one a symbol makes (<= 10 lattices), and a
    spurious pulse half a lattice off the grid splitting a long distance into two legal ones:
    16 distances, none impossible. Read as regular, the symbols between the two would be one
    position off with full confidence; weighed against the lost-and-spurious reading, no bit
    is confidently wrong (the lost burst could be at any of several distances: most bits are
    rightly weak)."""
    for seed in range(40):
        bits, d = stream(0.5, seed=seed)
        syncs = np.flatnonzero(d == IR.sync_mark_us)
        a, b = int(syncs[3]), int(syncs[4])
        marks = np.arange(a + 2, b - 1, 2)
        dist = {m: (d[m] + abs(d[m + 1])) / LATTICE for m in range(a, b, 2)}  # from mark m to the next
        short = [m for m in marks if dist[m - 2] + dist[m] <= 10 and m < b - 8]
        long_ = [m for m in range(a + 2, b - 1, 2) if dist[m] >= 7 and short and m > short[0] + 4]
        if short and long_:
            break
    else:
        raise AssertionError("no block with both shapes in 40 seeds")
    spurious_at = int(3.5 * LATTICE) - IR.mark_us  # into the space after mark long_[0]
    out = lose(add_pulse(d, long_[0] + 1, spurious_at), short[0])
    llr, stats = demodulate(out)
    check_block(llr, bits, 3, share=0.0)
    monkeypatch.setattr(suspect_module, "FLAG_ODDS", float("inf"))  # the regular reading alone
    assert confidently_wrong(demodulate(out)[0], bits, 3) >= 5


def test_a_false_sync_and_two_spurious_pulses_cost_one_block_not_two():
    """A burst widened to a sync's width splits block 3 into two counts no decoder takes, and
    with two spurious pulses neither does their sum: erased, as one block, and every later
    block comes out at its own place."""
    bits, d = stream(0.5, seed=3)
    syncs = np.flatnonzero(d == IR.sync_mark_us)
    a = int(syncs[3])
    widened = list(d)
    widened[a + 14] += 450  # interior mark 7 of block 3: now wider than the sync threshold
    widened[a + 15] += 450  # its space shorter: the next burst stays where it was
    out = add_pulse(add_pulse(widened, a + 25, 500), a + 5, 500)  # the later one first
    llr, stats = demodulate(out)
    assert stats.blocks_erased == 1
    assert len(llr) == len(bits) // PER * PER + (PER if len(bits) % PER else 0)
    assert not np.any(llr[3 * PER : 4 * PER])
    rest = np.concatenate((llr[: 3 * PER], llr[4 * PER : len(bits)]))
    sent = np.concatenate((bits[: 3 * PER], bits[4 * PER :]))[: len(rest)]
    assert np.array_equal(rest < 0, sent.astype(bool))


def test_alignment_decoder_with_one_burst_lost_is_the_lost_burst_decoder():
    rng = np.random.default_rng(0)
    c_full = np.full(16, IR.min_lattices)
    c_full[0] = IR.sync_lattices
    for _ in range(20):
        n = np.concatenate(([0], np.cumsum(rng.integers(0, 8, 16) + c_full)))
        p = offset_probs(rng.uniform(-0.3, 0.3, 17), rng.uniform(0.1, 0.3, 17))
        keep = np.r_[0:6, 7:17]
        delta, d_hat = distance_probs(p[keep][:-1], p[keep][1:]), np.diff(n[keep])
        np.testing.assert_allclose(decode_aligned(delta[None], d_hat[None], c_full, g_max=2)[0],
                                   decode_lost(delta, d_hat, c_full), atol=1e-9)
