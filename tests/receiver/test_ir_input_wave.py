"""The edge detector the ir receive chain puts before a WAV input tells a detector's output from
the 38 kHz carrier itself, and recovers the marks of either (modem/ir_wave.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ir_input import detector_output

from modem.ir import IR, IrModulator
from modem.ir_wave import IrCarrierRenderer, IrDetectorConfig, IrEdgeDetector, IrRenderConfig


def durations(n_bits: int = 600, seed: int = 1) -> np.ndarray:
    bits = np.random.default_rng(seed).integers(0, 2, n_bits).astype(np.uint8)
    mod = IrModulator(IR)
    return np.concatenate((mod.process(bits), mod.flush()))


def carrier(d: np.ndarray, rate: int, amplitude: float = 0.9) -> np.ndarray:
    x = IrCarrierRenderer(IrRenderConfig(sample_rate_hz=rate, amplitude=amplitude)).process(d)
    pad = np.zeros(rate // 50, np.float32)  # 20 ms of silence either side
    return np.concatenate((pad, x, pad))


def detect(x: np.ndarray, rate: int, pieces: int = 1) -> tuple[np.ndarray, IrEdgeDetector]:
    det = IrEdgeDetector(IrDetectorConfig(sample_rate_hz=rate))
    out = [det.process(p) for p in np.array_split(x, pieces)]
    seen = (det.carrier, det.active_low)
    out.append(det.flush())  # which resets what was detected: keep it for the asserts
    det.carrier, det.active_low = seen
    return np.concatenate(out), det


@pytest.mark.parametrize("rate, mark_error_us", [(96_000, 30), (192_000, 12)])
def test_the_carrier_gives_its_marks_and_spaces_back(rate, mark_error_us):
    d = durations()
    got, det = detect(carrier(d, rate), rate)
    assert det.carrier is True
    assert got.size == d.size and np.all(np.sign(got) == np.sign(d))
    assert np.max(np.abs(got - d)) <= mark_error_us
    assert abs(float(np.mean(got[d > 0] - d[d > 0]))) <= mark_error_us / 2  # no bias to speak of


@pytest.mark.parametrize("rate", [48_000, 96_000])
@pytest.mark.parametrize("active_low", [True, False])
def test_a_detector_output_is_not_taken_for_a_carrier(rate, active_low):
    d = durations(300)
    got, det = detect(detector_output(d, rate, active_low=active_low), rate)
    assert det.carrier is False and det.active_low is active_low
    assert got.size == d.size and np.max(np.abs(got - d)) <= 2e6 / rate + 1


def test_a_weak_noisy_carrier_still_gives_its_marks():
    rate = 192_000
    d = durations(300, seed=2)
    x = carrier(d, rate, amplitude=0.05)
    x = x + np.random.default_rng(3).normal(0, 0.004, x.size).astype(np.float32)
    got, det = detect(x, rate)
    assert det.carrier is True and got.size == d.size and np.max(np.abs(got - d)) <= 20


@settings(max_examples=25, deadline=None)
@given(pieces=st.integers(1, 400), rate=st.sampled_from([96_000, 192_000]), seed=st.integers(0, 50))
def test_the_carrier_path_does_not_depend_on_how_the_samples_are_cut(pieces, rate, seed):
    d = durations(120, seed=seed)
    x = carrier(d, rate)
    whole, _ = detect(x, rate)
    cut, _ = detect(x, rate, pieces)
    np.testing.assert_array_equal(cut, whole)
