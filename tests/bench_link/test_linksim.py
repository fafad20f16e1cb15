"""One link point of each profile kind, end to end through the project's chains and frame layer."""

import numpy as np
import pytest

from hotcast.bench.codesim import simulate_code
from hotcast.bench.linksim import LinkPoint, frequency_shift, net_rate, simulate
from modem.codec import CodecConfig
from modem.impairments import IrChannelConfig


def test_fm_decodes_every_frame_well_above_threshold_and_none_far_below():
    good = simulate(LinkPoint("fm", 3, ebn0_db=8.0, seed=1))
    bad = simulate(LinkPoint("fm", 3, ebn0_db=0.0, seed=1))
    assert (good.sent, good.decoded, good.fer) == (3, 3, 0.0)
    assert 0.0 < good.raw_ber < 0.02  # QPSK at Es/N0 = 8 dB x 0.634: BER 2.4e-3 in theory
    assert bad.decoded == 0 and bad.fer == 1.0


def test_the_same_point_gives_the_same_result():
    a = simulate(LinkPoint("audio", 3, ebn0_db=7.0, seed=4))
    b = simulate(LinkPoint("audio", 3, ebn0_db=7.0, seed=4))
    assert (a.decoded, a.raw_ber, a.codewords) == (b.decoded, b.raw_ber, b.codewords)


def test_ir_pulses_decode_clean_and_fail_under_heavy_jitter():
    assert simulate(LinkPoint("ir", 2, seed=1)).fer == 0.0
    wild = simulate(LinkPoint("ir", 2, ir=IrChannelConfig(jitter_us=400, seed=1), seed=1))
    assert wild.fer == 1.0


def test_audio_clock_error_inside_the_card_spec_costs_nothing():
    assert simulate(LinkPoint("audio-robust", 2, ppm=300.0, seed=2)).fer == 0.0


def test_net_rate_counts_frame_overhead_and_repair():
    # fm: 38 000 bit/s x 0.697 / 1.1 = 24.1 kbit/s (framing/profiles.py)
    assert net_rate("fm") == pytest.approx(24_100, rel=0.01)


@pytest.mark.parametrize("kwargs,match", [
    (dict(profile="audio", frames=2, cnr_db=20.0), "cnr_db"),
    (dict(profile="fm", frames=2, ebn0_db=3.0, cnr_db=20.0), "not both"),
    (dict(profile="fm", frames=2, freq_offset_hz=1e3), "tuner offset"),
    (dict(profile="ir", frames=2, freq_offset_hz=1e3), "frequency offset"),
    (dict(profile="fm", frames=2, codec=CodecConfig("mp3", 128)), "codec"),
    (dict(profile="audio", frames=2, ir=IrChannelConfig()), "IR pulse channel"),
    (dict(profile="audio", frames=2, with_programme=True), "programme"),
    (dict(profile="fm", frames=1), "frames"),
    (dict(profile="dab", frames=2), "unknown profile"),
])
def test_bad_link_points_are_refused_naming_what(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinkPoint(**kwargs)


def test_frequency_shift_moves_a_tone():
    rate = 8_000.0
    t = np.arange(8_000) / rate
    y = frequency_shift(np.sin(2 * np.pi * 1_000.0 * t), 37.0, rate)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert np.fft.rfftfreq(y.size, 1 / rate)[np.argmax(spectrum)] == pytest.approx(1_037.0, abs=1.0)


def test_code_alone_decodes_above_its_limit_and_fails_far_below():
    assert simulate_code("80211n-1944-1/2", 3.0, 16, seed=1).failed == 0
    assert simulate_code("80211n-1944-1/2", -1.0, 16, seed=1).cwer == 1.0
    with pytest.raises(ValueError, match="codewords"):
        simulate_code("80211n-1944-1/2", 1.0, 0)
