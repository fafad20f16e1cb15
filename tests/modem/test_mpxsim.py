"""Test MPX generator: levels per BS.450 / IEC 62106, bands, spectrum and plot."""

import numpy as np
import pytest

from modem.mpxsim import BANDS_HZ, PILOT_HZ, MpxSimConfig, mpx_spectrum, simulate_mpx

FS = 228_000


@pytest.fixture(scope="module")
def mpx() -> np.ndarray:
    return simulate_mpx(FS, MpxSimConfig(seed=1))


def _band_power(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2 / x.size**2 * 2
    f = np.fft.rfftfreq(x.size, 1 / FS)
    return float(spec[(f >= lo) & (f <= hi)].sum())


def test_peak_leaves_room_for_our_10_percent(mpx):
    assert np.max(np.abs(mpx)) <= 0.9 + 1e-6  # + 0.10 data subcarrier <= 100 % deviation
    assert mpx.dtype == np.float32


def test_pilot_at_9_percent(mpx):
    # A sine of amplitude a has power a^2 / 2.
    assert np.sqrt(2 * _band_power(mpx, PILOT_HZ - 20, PILOT_HZ + 20)) == pytest.approx(0.09, rel=0.02)


def test_rds_in_2_to_4_percent_and_stereo_present(mpx):
    rds_peak_est = np.sqrt(_band_power(mpx, *BANDS_HZ["RDS"]))
    assert 0.005 < rds_peak_est < 0.04
    stereo = _band_power(mpx, 23_000, 53_000)  # L-R sidebands
    mono = simulate_mpx(FS, MpxSimConfig(seed=1, stereo=False))
    assert stereo > 1e-4 and _band_power(mono, 23_000, 53_000) < stereo / 100


def test_data_band_is_clear(mpx):
    f, psd = mpx_spectrum(mpx, FS)
    inside = psd[(f >= 64_000) & (f <= 88_000)].max()
    assert inside < psd[(f >= 30) & (f <= 15_000)].max() - 50
    assert f[np.argmax(np.where((f > 18_000) & (f < 20_000), psd, -400))] == pytest.approx(
        PILOT_HZ, abs=100)


def test_deterministic_for_a_seed():
    a = simulate_mpx(10_000, MpxSimConfig(seed=3))
    assert np.array_equal(a, simulate_mpx(10_000, MpxSimConfig(seed=3)))
    assert not np.array_equal(a, simulate_mpx(10_000, MpxSimConfig(seed=4)))
    assert simulate_mpx(0).size == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(sample_rate_hz=96_000), "sample_rate_hz"),
    (dict(pilot_level=0.2, programme_peak=0.9), "<= 1.0"),
    (dict(rds_level=-0.1), "rds_level"),
])
def test_config_misuse(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MpxSimConfig(**kwargs)


def test_plot_writes_a_png(mpx, tmp_path):
    from hotcast.plots import plot_mpx_spectrum

    path = tmp_path / "mpx.png"
    plot_mpx_spectrum(*mpx_spectrum(mpx, FS), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
