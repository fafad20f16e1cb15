"""ReceivePipeline: samples -> events, chunk invariance, quality and input-problem events,
bad input counted and never fatal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipeline_signal import (
    FM, IQ_RATE_HZ, MPX_RATE_HZ, carousel_bits, cycle_frames, make_center, modulate, to_iq,
)

from framing import Block, FrameHeader, segment
from modem.channel import ChannelConfig, ChannelSimulator, cnr_for_subcarrier_ebn0
from framing.frameformat import SYNC_BITS
from framing.frames import FrameGen
from modem import InputKind
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig
from receiver.events import BundleReceived
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline, receive_profiles


def as_dicts(events) -> list[dict]:
    """Typed events as their JSON form (a received bundle keeps its bytes under ``data``)."""
    return [{**e.to_json(), **({"data": e.data} if isinstance(e, BundleReceived) else {})}
            for e in events]


def config(profile, is_iq, rate, **kw) -> PipelineConfig:
    return PipelineConfig(profile, InputKind.IQ if is_iq else InputKind.BASEBAND, rate, **kw)


@pytest.fixture(scope="module")
def center(tmp_path_factory):
    return make_center(tmp_path_factory.mktemp("center") / "c", entries=300, delta_entries=20)


@pytest.fixture(scope="module")
def mpx(center):
    return modulate(carousel_bits(center.bundles, 2 * cycle_frames(center)))


def run(x, is_iq=False, rate=MPX_RATE_HZ, chunks=None, **kw):
    p = ReceivePipeline(config("fm", is_iq, rate, **kw))
    events = []
    if chunks is None:
        events += p.process(x)
    else:
        pos = 0
        for size in chunks:
            events += p.process(x[pos:pos + size])
            pos += size
        events += p.process(x[pos:])
    return as_dicts(events + p.finish())


def received(events):
    return [e["data"] for e in events if e["event"] == "bundle_received"]


def test_clean_mpx_gives_every_bundle_with_quality(center, mpx):
    events = run(mpx)
    assert sorted(received(events)) == sorted(center.bundles)
    first = next(e for e in events if e["event"] == "bundle_received")
    assert first["snr_db"] > 20 and first["ber"] == 0.0
    assert 0 < first["t_s"] <= 2.5 and first["sample"] == round(first["t_s"] * MPX_RATE_HZ)
    summary = events[-1]
    assert summary["event"] == "summary"
    assert summary["frames_ok"] == 2 * cycle_frames(center) and summary["frames_bad"] == 0
    assert summary["seconds_of_signal"] == pytest.approx(mpx.size / MPX_RATE_HZ, abs=1e-3)


def test_events_do_not_depend_on_chunking_mpx(mpx):
    whole = run(mpx, quality_period_s=1.0)
    rng = np.random.default_rng(7)
    chunks = rng.integers(1, 20_000, size=2_000)
    chunks = chunks[np.cumsum(chunks) < mpx.size]
    assert run(mpx, chunks=chunks.tolist(), quality_period_s=1.0) == whole
    assert any(e["event"] == "quality" for e in whole)


def test_events_do_not_depend_on_chunking_iq(center):
    iq = to_iq(modulate(carousel_bits(center.bundles[:1], cycle_frames(center) + 1)))
    whole = run(iq, True, IQ_RATE_HZ)
    assert received(whole) == [center.bundles[0]]
    rng = np.random.default_rng(8)
    chunks = rng.integers(1, 150_000, size=200)
    chunks = chunks[np.cumsum(chunks) < iq.size]
    assert run(iq, True, IQ_RATE_HZ, chunks=chunks.tolist()) == whole
    assert next(e for e in whole if e["event"] == "summary")["frames_ok"] > 0


PIPELINE_STAGES = ["subcarrier_demod", "frame_sync", "inner_decode", "erasure_decode"]


def test_stage_seconds_name_the_stages_in_order_and_add_up_to_at_most_the_cpu_used(center, mpx):
    import time

    p = ReceivePipeline(config("fm", False, MPX_RATE_HZ))
    assert p.stage_seconds == dict.fromkeys(PIPELINE_STAGES, 0.0)
    t0 = time.process_time()
    p.process(mpx)
    p.finish()
    used = time.process_time() - t0
    got = p.stage_seconds
    assert list(got) == PIPELINE_STAGES  # baseband input: no FM front end
    assert all(v >= 0 for v in got.values()) and got["subcarrier_demod"] > 0
    assert got["inner_decode"] > 0 and sum(got.values()) <= used + 1e-3
    p.reset()
    assert sum(p.stage_seconds.values()) == 0


def test_stage_seconds_of_iq_input_start_with_the_fm_front_end(center):
    iq = to_iq(modulate(carousel_bits(center.bundles[:1], 2)))
    p = ReceivePipeline(config("fm", True, IQ_RATE_HZ))
    p.process(iq)
    p.finish()
    got = p.stage_seconds
    assert list(got) == ["fm_demod", *PIPELINE_STAGES] and got["fm_demod"] > 0


def test_quality_event_every_period(mpx):
    events = run(mpx, quality_period_s=1.0)
    quality = [e for e in events if e["event"] == "quality"]
    assert len(quality) == int(mpx.size / MPX_RATE_HZ)
    assert sum(q["frames_ok"] for q in quality) >= 12
    assert all(set(q) >= {"snr_db", "level", "frames_ok", "frames_bad", "t_s"} for q in quality)


@pytest.mark.parametrize("profile, is_iq, rate", [
    ("fm", False, 48_000), ("fm", False, 150_000), ("fm", True, 200_000), ("fm", True, 3.2e6),
    ("fm", False, float("nan")), ("fm", False, -1.0), ("no-such", False, 48_000),
])
def test_rates_and_profiles_it_cannot_use_are_refused(profile, is_iq, rate):
    with pytest.raises(ValueError, match="profile|sample_rate_hz|rate"):
        config(profile, is_iq, rate)


def test_wrong_sample_type_is_refused():
    p = ReceivePipeline(config("fm", True, IQ_RATE_HZ))
    with pytest.raises(TypeError):
        p.process(np.zeros(10, np.float32))
    with pytest.raises(ValueError):
        p.process(np.zeros((2, 2), np.complex64))


def test_profiles_list_rates_and_band():
    fm = next(p for p in receive_profiles() if p["name"] == "fm")
    assert fm["name"] == "fm" and fm["raw_bit_rate_bps"] == 38_000
    assert 12_000 <= fm["net_bit_rate_bps"] < 38_000
    assert fm["band_hz"][0] > 62_000 and fm["band_hz"][1] < 90_000


def test_noise_only_gives_no_bundle_and_no_crash():
    noise = np.random.default_rng(1).normal(0, 0.1, 2 * MPX_RATE_HZ).astype(np.float32)
    events = run(noise)
    assert received(events) == []
    assert events[-1]["frames_ok"] == 0


def test_silence_is_reported_as_flat_input():
    events = run(np.zeros(MPX_RATE_HZ, np.float32), quality_period_s=10.0)
    problems = [e for e in events if e["event"] == "input_problem"]
    # flat once, not once per block; no_frames once at the end (shorter than a period)
    assert [p["problem"] for p in problems] == ["flat", "no_frames"]


def test_nan_and_clipping_are_reported_and_decoding_resumes(center, mpx):
    bad = mpx.copy()
    bad[1000:3000] = np.nan
    bad[5000:60_000] = 1.5  # 0.25 s stuck at full scale
    events = run(bad)
    kinds = {e["problem"] for e in events if e["event"] == "input_problem"}
    assert {"not_finite", "clipping"} <= kinds
    assert sorted(received(events)) == sorted(center.bundles)


def test_frame_with_valid_crc_but_absurd_header_is_counted(center):
    good = segment(center.bundles[0], 0, center.seqs[0], FM)
    h = good[0].header
    absurd = FrameHeader(h.stream, h.seq, h.digest, 0, h.n + 5, h.n, h.bundle_bytes, h.block_bytes)
    frames = FrameGen(FM).process([Block(absurd, good[0].payload)] + good)
    lead = np.random.default_rng(3).integers(0, 2, 6000, dtype=np.uint8)
    events = run(modulate(np.concatenate((lead, frames))))
    assert received(events) == [center.bundles[0]]
    assert events[-1]["headers_absurd"] == 1


def test_blocks_of_two_bundles_with_one_seq_never_mix(center, tmp_path):
    other = make_center(tmp_path / "other", entries=300, seed=9)
    seq = center.seqs[0]
    a = segment(center.bundles[0], 0, seq, FM)
    b = segment(other.bundles[0], 0, seq, FM)  # same seq, other content
    mixed = [blk for pair in zip(a, b) for blk in pair]
    lead = np.random.default_rng(4).integers(0, 2, 6000, dtype=np.uint8)
    events = run(modulate(np.concatenate((lead, FrameGen(FM).process(mixed + mixed)))))
    assert sorted(received(events)) == sorted([center.bundles[0], other.bundles[0]])
    assert events[-1]["bundles_bad_digest"] == 0


def test_sync_word_alone_and_random_bits_find_nothing():
    bits = np.concatenate([np.random.default_rng(5).integers(0, 2, 20_000, dtype=np.uint8),
                           np.tile(SYNC_BITS, 50)])
    events = run(modulate(bits))
    assert received(events) == [] and events[-1]["frames_ok"] == 0


def test_process_after_finish_is_misuse(mpx):
    p = ReceivePipeline(config("fm", False, MPX_RATE_HZ))
    p.finish()
    with pytest.raises(ValueError):
        p.process(mpx[:10])
    p.reset()
    assert p.process(mpx[:10]) == []


@settings(max_examples=15)
@given(st.lists(st.integers(1, 60_000), min_size=1, max_size=40))
def test_any_chunking_gives_the_events_of_one_block(short_mpx, chunks):
    mpx, whole = short_mpx
    assert run(mpx, chunks=chunks, quality_period_s=0.5) == whole


@pytest.fixture(scope="module")
def short_mpx(center):
    mpx = modulate(carousel_bits(center.bundles[:1], 5), tail_s=0.0)
    whole = run(mpx, quality_period_s=0.5)
    assert received(whole) == [center.bundles[0]]
    return mpx, whole


def test_no_frames_is_reported_once_per_quality_period():
    noise = np.random.default_rng(2).normal(0, 0.1, 3 * MPX_RATE_HZ).astype(np.float32)
    events = run(noise, quality_period_s=1.0)
    assert [e["problem"] for e in events if e["event"] == "input_problem"] == ["no_frames"] * 3


def test_input_shorter_than_a_period_without_frames_still_says_so():
    """A short file at a wrong --rate or of noise gets its hint before the summary."""
    noise = np.random.default_rng(3).normal(0, 0.1, MPX_RATE_HZ // 2).astype(np.float32)
    events = run(noise, quality_period_s=10.0)
    (problem,) = [e for e in events if e["event"] == "input_problem"]
    assert problem["problem"] == "no_frames" and "--rate" in problem["why"]
    assert events[-1]["event"] == "summary"


def test_no_frames_is_not_reported_when_frames_were_found(mpx):
    events = run(mpx, quality_period_s=10.0)
    assert not [e for e in events if e.get("problem") == "no_frames"]


def test_signal_ending_before_the_input_is_no_bad_frame(center):
    """A clean recording that runs on after its last frame (silence or noise) counts every
    frame good and none bad: the end of the signal is lock_lost, not a lost frame."""
    mpx = modulate(carousel_bits(center.bundles, cycle_frames(center)), tail_s=1.0)
    mpx = mpx + np.random.default_rng(6).normal(0, 0.01, mpx.size).astype(np.float32)
    summary = run(mpx)[-1]
    assert (summary["frames_ok"], summary["frames_bad"]) == (cycle_frames(center), 0)
    assert summary["lock_lost"] == 1


def test_iq_ending_right_after_the_last_frame_keeps_that_frame(center):
    """The I/Q front end holds up to ~55 ms; finish() must release it, or a recording cut
    just after its last frame (a rendered cycle, a dongle stopped) loses that frame's end.
    That end is RS parity (the interleaver sends codewords column by column), so the loss
    shows only when noise needs the parity: Eb/N0 9 dB per payload bit here."""
    frames = cycle_frames(center)
    iq = to_iq(modulate(carousel_bits(center.bundles, frames), tail_s=0.0))
    # A lead of unmodulated carrier puts the end 50 ms into the front end's internal frame.
    held = round(0.05 * IQ_RATE_HZ)
    step = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=IQ_RATE_HZ))._plan.hop  # its FFT block
    iq = np.concatenate((np.full((held - iq.size) % step, 0.7, np.complex64), iq))
    payload_bps = 38_000 * FM.efficiency / (1 + FM.repair_ratio)
    cnr = cnr_for_subcarrier_ebn0(9.0, 0.1**2 / 2, payload_bps)
    iq = ChannelSimulator(ChannelConfig(cnr_db=cnr, signal_power=0.7**2, seed=5),
                          IQ_RATE_HZ, True).process(iq)
    summary = run(iq, True, IQ_RATE_HZ)[-1]
    assert summary["frames_corrected"] > 0  # the noise does call on the parity
    assert (summary["frames_ok"], summary["frames_bad"]) == (frames, 0)


@pytest.mark.parametrize("case", ["silence", "dc", "spike_in_silence", "quiet_start", "noise"])
def test_flat_input_check_agrees_with_the_whole_blocks_std(case):
    from receiver.radio.pipeline import _FLAT_STD, _is_flat

    rng = np.random.default_rng(3)
    x = {
        "silence": np.zeros(22_800, np.float32),
        "dc": np.full(22_800, 0.7, np.float32),
        "spike_in_silence": np.where(np.arange(22_800) == 20_000, 0.5, 0.0).astype(np.float32),
        "quiet_start": np.concatenate((np.zeros(2_000), rng.normal(0, 1e-3, 20_800))).astype(
            np.float32),
        "noise": rng.normal(0, 5e-5, 22_800).astype(np.float32),
    }[case]
    assert _is_flat(x, float(x.min()), float(x.max())) == (float(np.std(x)) < _FLAT_STD)


def test_short_flat_gaps_are_not_a_flat_input():
    # An ir detector rests at one level between ir-ctl transmissions (125 ms): noise with
    # 0.2 s silent gaps is not reported flat; 1.5 s of silence in the middle is, once.
    rng = np.random.default_rng(2)
    noisy = rng.normal(0, 0.1, MPX_RATE_HZ // 2).astype(np.float32)
    gap = np.zeros(MPX_RATE_HZ // 5, np.float32)
    gappy = np.concatenate([noisy, gap, noisy, gap, noisy])
    events = run(gappy, quality_period_s=10.0)
    assert not [e for e in events if e.get("problem") == "flat"]
    long_gap = np.concatenate([noisy, np.zeros(3 * MPX_RATE_HZ // 2, np.float32), noisy])
    events = run(long_gap, quality_period_s=10.0)
    assert len([e for e in events if e.get("problem") == "flat"]) == 1
