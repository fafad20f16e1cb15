"""Configuration checks, stage shape and the preset table of profile `fm`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from modem import PROFILES
from modem.fm import SubcarrierDemodulator, SubcarrierModulator
from modem.fm_config import FmSubcarrierConfig


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sample_rate_hz", 171_000),  # redsea's rate: 85.5 kHz Nyquist cannot hold 88.8 kHz
        ("sample_rate_hz", 0),
        ("sample_rate_hz", 30_000_000),
        ("rolloff", 0.0),
        ("rolloff", 1.5),
        ("injection", 0.0),
        ("injection", 1.2),
        ("symbol_rate_baud", -1.0),
        ("carrier_hz", 10_000.0),
        ("pulse_span_symbols", 1),
        ("timing_window_symbols", 4),
        ("carrier_window_symbols", 2),
    ],
)
def test_bad_config_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        FmSubcarrierConfig(**{field: value})


@pytest.mark.parametrize("rate_hz", [190_000, 228_000, 240_000, 250_000, 1_200_000, 2_400_000])
def test_usual_mpx_rates_are_accepted(rate_hz):
    cfg = FmSubcarrierConfig(sample_rate_hz=rate_hz)
    dem = SubcarrierDemodulator(cfg)
    assert dem.config.sample_rate_hz == rate_hz
    assert dem.samples_per_symbol >= 4  # the FFT plan's output rate, 4-4.3 samples a symbol


def test_config_is_frozen_and_rates_are_derived():
    cfg = FmSubcarrierConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.injection = 0.2  # type: ignore[misc]
    assert cfg.bits_per_second == 38_000  # 19 000 baud x 2 bit/symbol
    assert cfg.bandwidth_hz == pytest.approx(25_650)  # 19 000 x 1.35
    assert SubcarrierModulator(cfg).bits_per_second == SubcarrierDemodulator(cfg).bits_per_second


def test_profile_table_holds_the_fm_presets():
    for name in ("fm", "fm-robust"):
        assert isinstance(PROFILES[name].config, FmSubcarrierConfig)
    assert PROFILES["fm"].bits_per_second >= 12_000 / 0.75 * 1.5  # rate target with margin


def test_stages_show_their_config_and_reject_wrong_inputs():
    mod, dem = SubcarrierModulator(), SubcarrierDemodulator()
    assert "sample_rate_hz=228000" in repr(mod) and "injection=0.1" in repr(dem)
    with pytest.raises(TypeError):
        SubcarrierModulator(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mod.process(np.array([0, 1, 2], dtype=np.uint8))
    with pytest.raises(TypeError):
        mod.process(np.zeros(4))
    with pytest.raises(TypeError):
        dem.process(np.zeros(4, dtype=np.int16))
    with pytest.raises(TypeError):
        dem.process(np.zeros((2, 4)))


def test_reset_restarts_both_stages():
    bits = np.random.default_rng(1).integers(0, 2, 5_001).astype(np.uint8)
    mod = SubcarrierModulator()
    first = mod.process(bits)
    mod.reset()
    assert np.array_equal(first, mod.process(bits))
    dem = SubcarrierDemodulator()
    out1 = dem.process(first.astype(np.float64))
    dem.reset()
    assert np.array_equal(out1, dem.process(first.astype(np.float64)))
    assert dem.stats.symbols == len(out1) // 2


def test_empty_input_gives_empty_output():
    assert SubcarrierModulator().process(np.zeros(0, dtype=np.uint8)).dtype == np.float32
    out = SubcarrierDemodulator().process(np.zeros(0, dtype=np.float32))
    assert out.dtype == np.float32 and len(out) == 0
