"""Loopback over profile `fm` through the real CLI (amodem's transfer test, STYLE 8):
center bundles -> carousel -> MPX (-> FM I/Q) -> channel simulator -> a signal file or a
pipe -> `hotcast receiver decode` in a subprocess -> the terminal store.

``run(payload, channel=..., profile="fm")`` is the one entry; each test names the
impairment it survives. All randomness is seeded; Eb/N0 is per payload bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from tests.receiver.test_pipeline_signal import (
    IQ_RATE_HZ, MPX_RATE_HZ, carousel_bits, cycle_frames, events_of, make_center,
    make_terminal, modulate, run_cli, to_iq, write_signal,
)
from crypto import read_unverified_header
from framing import frame_config, segment
from modem.channel import ChannelConfig, ChannelSimulator, cnr_for_subcarrier_ebn0
from modem.formats import encode_samples
from modem.mpxsim import MpxSimConfig, simulate_mpx
from receiver.store.store import TerminalStore

FM = frame_config("fm")
PAYLOAD_BPS = 38_000 * FM.efficiency / (1 + FM.repair_ratio)
INJECTION = 0.10
IQ_AMPLITUDE = 0.7


@pytest.fixture(scope="module")
def center(tmp_path_factory):
    return make_center(tmp_path_factory.mktemp("c") / "c", entries=300, delta_entries=10)


def run(center, tmp_path, channel: ChannelConfig | None = None, profile: str = "fm", *,
        iq: bool = True, via: str = "file", programme: bool = False, tune_in_frame: int = 0,
        cycles: float = 1.5, ebn0_db: float | None = 14.0) -> tuple[list[dict], object]:
    """Put ``center``'s bundles on air from ``tune_in_frame`` into the cycle for ``cycles``
    cycles, through ``channel`` (noise set from ``ebn0_db`` unless the channel gives its
    own), into `hotcast receiver decode` from a file or stdin; -> (events, store state)."""
    n_frames = int(np.ceil(cycles * cycle_frames(center)))
    seqs = [read_unverified_header(b).seq for b in center.bundles]
    bits = carousel_bits(center.bundles, tune_in_frame + n_frames, seqs=seqs)
    if tune_in_frame:
        lead = bits[:6000]
        bits = np.concatenate((lead, bits[6000 + tune_in_frame * FM.frame_bits:]))
    mpx = modulate(bits)
    if programme:
        mpx = mpx + simulate_mpx(mpx.size, MpxSimConfig(programme_peak=0.72, seed=3))
    channel = channel or ChannelConfig()
    if ebn0_db is not None and channel.cnr_db is None and channel.ebn0_db is None:
        if iq:
            cnr = cnr_for_subcarrier_ebn0(ebn0_db, INJECTION**2 / 2, PAYLOAD_BPS)
            channel = _with(channel, cnr_db=cnr, signal_power=IQ_AMPLITUDE**2)
        else:
            channel = _with(channel, ebn0_db=ebn0_db, payload_bit_rate_bps=PAYLOAD_BPS,
                            signal_power=INJECTION**2 / 2)
    if iq:
        samples = ChannelSimulator(channel, IQ_RATE_HZ, True).process(to_iq(mpx, amplitude=IQ_AMPLITUDE))
        path, rate = tmp_path / "air.cu8", IQ_RATE_HZ
    else:
        samples = ChannelSimulator(channel, MPX_RATE_HZ, False).process(mpx)
        path, rate = tmp_path / "air.wav", MPX_RATE_HZ
    write_signal(path, samples, rate)
    home = make_terminal(tmp_path / "t", center)
    args = ["decode", "--home", str(home), "--profile", profile]
    if via == "file":
        r = run_cli(*args, "--input", str(path))
    else:
        fmt = ["--format", "cu8", "--rate", str(rate)] if iq else ["--format", "wav"]
        r = run_cli(*args, "--input", "-", *fmt, stdin=path.read_bytes())
    assert r.returncode == 0, r.stderr
    with TerminalStore.open(home) as store:
        return events_of(r.stdout), store.state()


def _with(config: ChannelConfig, **changes) -> ChannelConfig:
    return replace(config, **changes)


def assert_whole_list(events, state, center):
    assert (state.seq, state.entries) == (center.seqs[-1], center.entries[-1]), events
    summary = events[-1]
    assert summary["event"] == "summary" and summary["bundles_applied"] == len(center.bundles)


def test_cu8_file_clean(center, tmp_path):
    events, state = run(center, tmp_path)
    assert_whole_list(events, state, center)
    frames = int(np.ceil(1.5 * cycle_frames(center)))
    assert (events[-1]["frames_ok"], events[-1]["frames_bad"]) == (frames, 0)
    applied = [e for e in events if e["event"] == "bundle_applied"]
    assert all(e["snr_db"] > 10 and e["freq_offset_hz"] is not None for e in applied)


def test_wav_from_stdin_with_programme_pilot_stereo_rds(center, tmp_path):
    events, state = run(center, tmp_path, iq=False, via="stdin", programme=True)
    assert_whole_list(events, state, center)


def test_cu8_from_stdin_tuned_in_mid_cycle(center, tmp_path):
    events, state = run(center, tmp_path, via="stdin", tune_in_frame=3)
    assert_whole_list(events, state, center)


@pytest.mark.parametrize("offset_hz, ppm", [(50_000.0, 200.0), (-50_000.0, -200.0)])
def test_cu8_tuner_offset_and_clock_error(center, tmp_path, offset_hz, ppm):
    events, state = run(center, tmp_path, ChannelConfig(freq_offset_hz=offset_hz,
                                                        sample_rate_offset_ppm=ppm))
    assert_whole_list(events, state, center)
    offsets = [e["freq_offset_hz"] for e in events if e["event"] == "bundle_applied"]
    assert all(abs(o - offset_hz) < 2_000 for o in offsets)


def test_wav_level_steps_of_10_db(center, tmp_path):
    cycle_s = cycle_frames(center) * FM.frame_bits / 38_000
    steps = ((0.3 * cycle_s, 10.0), (0.8 * cycle_s, -10.0), (1.2 * cycle_s, 0.0))
    events, state = run(center, tmp_path, ChannelConfig(gain_steps_db=steps), iq=False,
                        cycles=2.0, ebn0_db=None)
    assert_whole_list(events, state, center)
    assert (events[-1]["frames_ok"], events[-1]["frames_bad"]) == (2 * cycle_frames(center), 0)


def test_cu8_short_dropouts(center, tmp_path):
    drops = ((0.4, 0.003), (0.9, 0.005), (1.3, 0.002))  # a few ms each
    events, state = run(center, tmp_path, ChannelConfig(dropouts_s=drops), cycles=2.0)
    assert_whole_list(events, state, center)
    # The symbol clock holds through a few ms of lost carrier (no slip): at most the frame a
    # dropout falls in is lost (the LDPC code has no interleaver spreading a burst over
    # several codewords; the erasure code across blocks repairs that), never a whole bundle.
    ok, bad = events[-1]["frames_ok"], events[-1]["frames_bad"]
    assert bad <= len(drops) and ok + bad == 2 * cycle_frames(center)


@pytest.mark.slow
@pytest.mark.parametrize("ppm", [300.0, -300.0])
def test_wav_sound_card_clock_error_with_programme(center, tmp_path, ppm):
    events, state = run(center, tmp_path, ChannelConfig(sample_rate_offset_ppm=ppm), iq=False,
                        programme=True, cycles=2.0, ebn0_db=10.0)
    assert_whole_list(events, state, center)


@pytest.mark.slow
def test_cu8_everything_at_once(center, tmp_path):
    channel = ChannelConfig(freq_offset_hz=-47_000.0, sample_rate_offset_ppm=-180.0,
                            gain_steps_db=((0.5, -2.0),), dropouts_s=((1.0, 0.004),),
                            multipath_taps=((3, 0.1 + 0.05j),))
    events, state = run(center, tmp_path, channel, programme=True, tune_in_frame=4, cycles=2.5,
                        ebn0_db=13.0)  # 11 dB after the -2 dB step
    assert_whole_list(events, state, center)


def test_profile_segments_fit_one_short_cycle(center):
    n = sum(len(segment(b, 0, s, FM)) for b, s in zip(center.bundles, center.seqs))
    assert n == cycle_frames(center) <= 8


def test_rtl_fm_style_pipe_with_narrow_channel_filter(center, tmp_path):
    """`rtl_fm -M fm -s 228k - | hotcast receiver decode --format s16le --rate 228000 --input -`:
    rtl_fm's +-100 kHz channel filter folds programme audio onto the subcarrier (FIELD-NOTES);
    emulated here by filter, resample to 228 kHz, discriminator, 16-bit samples."""
    bits = carousel_bits(center.bundles, int(1.5 * cycle_frames(center)))
    mpx = modulate(bits)
    mpx = mpx + simulate_mpx(mpx.size, MpxSimConfig(programme_peak=0.72, seed=4))
    iq = to_iq(mpx)
    taps = signal.firwin(255, 100e3, fs=IQ_RATE_HZ)
    y = signal.resample_poly(signal.lfilter(taps, 1, iq), 19, 100)  # 1.2 MHz x 19/100 = 228 kHz
    disc = np.angle(y[1:] * np.conj(y[:-1])) * MPX_RATE_HZ / (2 * np.pi * 75e3)
    home = make_terminal(tmp_path / "t", center)
    r = run_cli("decode", "--home", str(home), "--profile", "fm", "--input", "-", "--format",
                "s16le", "--rate", str(MPX_RATE_HZ), stdin=encode_samples(disc, "s16le"))
    assert r.returncode == 0, r.stderr
    with TerminalStore.open(home) as store:
        assert_whole_list(events_of(r.stdout), store.state(), center)
