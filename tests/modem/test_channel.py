"""Channel simulator: noise level from Eb/N0 and CNR, BPSK BER against theory, ppm, effects."""

import math

import numpy as np
import pytest
from scipy import special

from modem.channel import (
    ChannelConfig,
    ChannelSimulator,
    apply_to_iq,
    apply_to_mpx,
    noise_std_for_cnr,
    noise_std_for_ebn0,
)

FS = 228_000.0


def test_noise_std_formula_by_hand():
    # Ps = 0.01, Rb = 12 kbit/s, Eb/N0 = 10 dB: Eb = 8.33e-7, N0 = 8.33e-8, s^2 = N0 * fs / 2.
    expected = math.sqrt(0.01 / 12_000 / 10 * FS / 2)
    assert noise_std_for_ebn0(0.01, 12_000, 10.0, FS) == pytest.approx(expected)


@pytest.mark.parametrize("ebn0_db", [4.0, 8.0, 12.0])
def test_measured_noise_matches_requested_ebn0_within_0_2_db(ebn0_db):
    ps, rb, n = 0.005, 12_000.0, 2_000_000
    cfg = ChannelConfig(ebn0_db=ebn0_db, payload_bit_rate_bps=rb, signal_power=ps, seed=1)
    noise = apply_to_mpx(np.zeros(n, np.float32), FS, cfg)
    n0 = np.var(noise) / (FS / 2)
    measured_db = 10 * math.log10((ps / rb) / n0)
    assert abs(measured_db - ebn0_db) < 0.2


def test_bpsk_ber_through_the_channel_matches_theory():
    """A trivial modem: rectangular BPSK, 19 samples per bit, integrate-and-dump."""
    rng = np.random.default_rng(7)
    sps, n_bits, amp = 19, 200_000, 0.1
    rb = FS / sps
    bits = rng.integers(0, 2, n_bits)
    tx = np.repeat((2 * bits - 1) * amp, sps).astype(np.float32)
    for ebn0_db in (2.0, 5.0):
        cfg = ChannelConfig(ebn0_db=ebn0_db, payload_bit_rate_bps=rb, signal_power=amp**2, seed=3)
        rx = apply_to_mpx(tx, FS, cfg).reshape(n_bits, sps).sum(axis=1)
        ber = np.mean((rx > 0) != bits)
        theory = 0.5 * special.erfc(math.sqrt(10 ** (ebn0_db / 10)))  # Q(sqrt(2 Eb/N0))
        assert ber == pytest.approx(theory, rel=0.1)


def test_measured_noise_matches_requested_cnr():
    fs, n = 1_200_000.0, 1_000_000
    cfg = ChannelConfig(cnr_db=20.0, signal_power=1.0, seed=2)
    noise = apply_to_iq(np.zeros(n, np.complex64), fs, cfg)
    in_ref = np.mean(np.abs(noise) ** 2) * 200_000 / fs
    assert 10 * math.log10(1.0 / in_ref) == pytest.approx(20.0, abs=0.1)
    assert np.var(noise.real) == pytest.approx(np.var(noise.imag), rel=0.02)
    assert noise_std_for_cnr(1.0, 20.0, fs) ** 2 == pytest.approx(0.01 * 6)


def _tone_freq(x: np.ndarray, fs: float, nominal: float) -> float:
    """Frequency from the phase slope of the analytic tone (sub-mHz over a second)."""
    t = np.arange(x.size) / fs
    z = x * np.exp(-2j * np.pi * nominal * t)
    phase = np.unwrap(np.angle(np.convolve(z, np.ones(64) / 64, mode="valid")))
    slope = np.polyfit(np.arange(phase.size) / fs, phase, 1)[0]
    return nominal + slope / (2 * np.pi)


@pytest.mark.parametrize("ppm", [200.0, -200.0, 37.5])
def test_sample_rate_offset_is_measured_back(ppm):
    n = int(FS)
    x = np.sin(2 * np.pi * 10_000 * np.arange(n) / FS).astype(np.float32)
    y = apply_to_mpx(x, FS, ChannelConfig(sample_rate_offset_ppm=ppm))
    assert y.size == pytest.approx(n * (1 + ppm * 1e-6), abs=1)
    body = y[1000:-1000]
    measured = _tone_freq(body, FS, 10_000.0)
    measured_ppm = (10_000.0 / measured - 1) * 1e6
    assert measured_ppm == pytest.approx(ppm, abs=1.0)
    assert np.std(body) == pytest.approx(np.std(x), rel=0.01)  # flat passband


def test_frequency_offset_on_iq():
    fs, n = 1_200_000.0, 120_000
    y = apply_to_iq(np.ones(n, np.complex64), fs, ChannelConfig(freq_offset_hz=-50_000.0))
    peak = np.fft.fftfreq(n, 1 / fs)[np.argmax(np.abs(np.fft.fft(y)))]
    assert peak == pytest.approx(-50_000.0, abs=fs / n)


def test_gain_steps_dropouts_multipath_and_clipping():
    x = np.ones(10_000, np.float32)
    cfg = ChannelConfig(gain_steps_db=((0.01, -20.0), (0.02, 10.0)), dropouts_s=((0.03, 0.001),),
                        multipath_taps=((5, 0.5),), clip_level=2.5)
    y = apply_to_mpx(x, 100_000.0, cfg)
    assert y[0] == 1.0 and y[10] == 1.5  # direct + echo
    assert y[1500] == pytest.approx(0.15)  # -20 dB
    assert y[2500] == 2.5  # +10 dB = 4.74 clipped at 2.5
    assert np.all(y[3000:3100] == 0)


def test_dropout_can_keep_the_noise():
    cfg = ChannelConfig(ebn0_db=10, payload_bit_rate_bps=1000, signal_power=1.0,
                        dropouts_s=((0.0, 0.5),), dropout_noise_only=True)
    y = apply_to_mpx(np.ones(1000, np.float32), 1000.0, cfg)
    assert abs(np.mean(y[:500])) < 0.1 < abs(np.mean(y[500:]))


def test_seeded_and_chunking_invariant():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(50_000) + 1j * rng.standard_normal(50_000)).astype(np.complex64)
    cfg = ChannelConfig(cnr_db=15, signal_power=2.0, freq_offset_hz=1234.5,
                        sample_rate_offset_ppm=-120, multipath_taps=((7, 0.1 - 0.2j),),
                        gain_steps_db=((0.01, -3),), dropouts_s=((0.02, 0.001),), seed=9)
    whole = ChannelSimulator(cfg, 1e6, is_iq=True).process(x)
    sim = ChannelSimulator(cfg, 1e6, is_iq=True)
    cuts = np.sort(rng.integers(0, x.size, 25))
    parts = np.concatenate([sim.process(c) for c in np.split(x, cuts)])
    np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(apply_to_iq(x, 1e6, cfg), whole)


@pytest.mark.parametrize("kwargs, match", [
    (dict(ebn0_db=3.0), "payload_bit_rate_bps"),
    (dict(ebn0_db=3.0, cnr_db=3.0, payload_bit_rate_bps=1.0), "not both"),
    (dict(multipath_taps=((0, 0.5),)), "delays"),
    (dict(clip_level=0.0), "clip_level"),
])
def test_config_misuse_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChannelConfig(**kwargs)


def test_iq_only_effects_are_refused_on_mpx():
    with pytest.raises(ValueError, match="I/Q"):
        apply_to_mpx(np.zeros(10, np.float32), FS, ChannelConfig(freq_offset_hz=1.0))


def test_echo_models_put_the_reflection_at_its_delay_and_level():
    from modem.channel import ECHO_3US, ECHO_8US, echo_taps
    fs = 1_200_000
    for echoes, delay, gain_db in ((ECHO_3US, 3.6, -10.0), (ECHO_8US, 9.6, -15.0)):
        taps = echo_taps(echoes, fs)
        # a band-limited impulse: the echo's energy sits around 16 + delay, 10^(gain/20) high
        t = np.arange(taps.size)
        echo = taps.copy()
        echo[16] -= 1.0
        assert abs(np.sum(t * echo) / np.sum(echo) - (16 + delay)) < 0.05
        assert np.sum(echo) == pytest.approx(10 ** (gain_db / 20), rel=0.01)
    tone = np.exp(2j * np.pi * 50_000 * np.arange(20_000) / fs).astype(np.complex64)
    out = apply_to_iq(tone, fs, ChannelConfig(echoes=ECHO_3US, signal_power=1.0))
    expect = abs(1 + 10 ** (-0.5) * np.exp(-2j * np.pi * 50_000 * 3e-6))
    assert np.abs(out[100:]).mean() == pytest.approx(expect, rel=1e-3)
    sim = ChannelSimulator(ChannelConfig(echoes=ECHO_8US), fs, is_iq=True)
    chunked = np.concatenate([sim.process(tone[:777]), sim.process(tone[777:])])
    assert np.allclose(chunked, apply_to_iq(tone, fs, ChannelConfig(echoes=ECHO_8US)), atol=1e-6)
    with pytest.raises(ValueError):
        ChannelConfig(echoes=((0.0, -3.0),))
