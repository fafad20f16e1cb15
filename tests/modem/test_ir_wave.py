"""IR carrier rendering and the detector-output edge finder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.ir import IR, IrDemodulator, IrModulator
from modem.ir_wave import IrCarrierRenderer, IrDetectorConfig, IrEdgeDetector, IrRenderConfig, detector_output


def durations(seconds=0.5, seed=1):
    bits = np.random.default_rng(seed).integers(0, 2, int(IR.bits_per_second * seconds)).astype(np.uint8)
    mod = IrModulator(IR)
    return bits, np.concatenate((mod.process(bits), mod.flush()))


def detector_wave(d, fs, active_low=True, noise=0.0, seed=0):
    """What a TSOP pin looks like: a level per sample from the marks (plus noise)."""
    t = np.concatenate(([0], np.cumsum(np.abs(d))))
    on = np.zeros(int(t[-1] * fs / 1e6) + int(fs / 100), dtype=np.int64)
    for a, b, v in zip(t[:-1], t[1:], d):
        if v > 0:
            on[int(np.ceil(a * fs / 1e6)) : int(np.ceil(b * fs / 1e6))] = 1
    x = (1.0 - on) if active_low else on.astype(np.float64)
    return (0.8 * x - 0.4 + noise * np.random.default_rng(seed).standard_normal(len(x))).astype(np.float32)


@pytest.mark.parametrize("rate", [96_000, 192_000])
def test_render_carrier(rate):
    _, d = durations(0.1)
    r = IrCarrierRenderer(IrRenderConfig(sample_rate_hz=rate))
    x = r.process(d)
    assert len(x) == round(np.sum(np.abs(d)) * rate / 1e6)
    spec = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(len(x), 1 / rate)
    assert abs(f[np.argmax(spec)] - 38_000) < 200
    # Chunk invariant.
    r.reset()
    parts = np.concatenate([r.process(c) for c in np.array_split(d, 17)])
    assert np.array_equal(parts, x)
    with pytest.raises(ValueError, match="sample_rate_hz"):
        IrRenderConfig(sample_rate_hz=48_000)


@pytest.mark.parametrize("active_low", [True, False])
@pytest.mark.parametrize("fs", [48_000, 96_000])
def test_detector_wave_decodes(active_low, fs):
    bits, d = durations(1.0)
    x = detector_wave(d, fs, active_low, noise=0.05)
    det = IrEdgeDetector(IrDetectorConfig(sample_rate_hz=fs))
    got = np.concatenate([det.process(c) for c in np.array_split(x, 23)] + [det.flush()])
    det2 = IrEdgeDetector(IrDetectorConfig(sample_rate_hz=fs))
    assert np.array_equal(np.concatenate((det2.process(x), det2.flush())), got)
    assert np.all(np.sign(got[1:]) != np.sign(got[:-1])) and got[0] > 0
    assert np.max(np.abs(np.abs(got[: len(d) - 1]) - np.abs(d[: len(got)][: len(d) - 1]))) <= 2e6 / fs + 1
    dem = IrDemodulator(IR)
    llr = np.concatenate((dem.process(got), dem.flush()))
    assert np.array_equal(llr[: len(bits)] < 0, bits.astype(bool))


def test_detector_polarity_is_detected():
    _, d = durations(0.2)
    for active_low in (True, False):
        det = IrEdgeDetector(IrDetectorConfig(sample_rate_hz=48_000))
        det.process(detector_wave(d, 48_000, active_low))
        assert det.active_low is active_low


@settings(max_examples=40)
@given(st.lists(st.one_of(st.floats(-2, 2), st.just(float("nan"))), min_size=0, max_size=3_000), st.integers(1, 50))
def test_fuzz_detector(values, parts):
    x = np.array(values, dtype=np.float32)
    det = IrEdgeDetector(IrDetectorConfig(sample_rate_hz=48_000, decide_s=0.005))
    out = np.concatenate([det.process(c) for c in np.array_split(x, min(parts, max(1, len(x))))] + [det.flush()])
    assert out.dtype == np.int32 and np.all(out != 0)
    assert np.all(np.sign(out[1:]) != np.sign(out[:-1]))


def test_silence_gives_nothing():
    det = IrEdgeDetector()
    assert len(det.process(np.zeros(48_000, np.float32))) == 0 and len(det.flush()) == 0


@pytest.mark.parametrize("fs", [8_000, 16_000, 48_000])
@pytest.mark.parametrize("active_low", [True, False])
def test_rendered_detector_output_gives_the_durations_back(fs, active_low):
    """``detector_output`` averages the pin over each sample, so the edge finder's midpoint
    crossings land within a fraction of a sample of every edge, at any rate the profile reads."""
    _, d = durations(0.5)
    x = detector_output(d, fs, active_low=active_low)
    assert x.dtype == np.float32 and len(x) == int(np.ceil(np.sum(np.abs(d)) * fs / 1e6 + 0.01 * fs))
    idle = 0.4 if active_low else -0.4
    assert x[0] == pytest.approx(-idle) and x[-1] == pytest.approx(idle)  # a mark first, idle after
    det = IrEdgeDetector(IrDetectorConfig(sample_rate_hz=fs))
    got = np.concatenate((det.process(x), det.flush()))
    assert len(got) == len(d) and np.array_equal(np.sign(got), np.sign(d))
    # Edges from the first mark's end (the pin starts inside that mark: no edge opens it).
    edges = lambda v: np.cumsum(np.abs(v.astype(np.int64)))[1:] - abs(int(v[0]))  # noqa: E731
    assert np.max(np.abs(edges(got) - edges(d))) <= 0.6e6 / fs


@pytest.mark.parametrize("kwargs", [{"sample_rate_hz": 4_000}, {"sample_rate_hz": 16_000, "swing": 0.0},
                                    {"sample_rate_hz": 16_000, "tail_s": -1.0}])
def test_detector_output_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        detector_output(np.array([300, -400, 300]), **kwargs)
