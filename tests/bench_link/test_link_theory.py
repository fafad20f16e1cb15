"""The theoretical curves the link plots stand beside: textbook values and limits."""

import math

import numpy as np
import pytest

from hotcast.bench import theory


def test_bpsk_ber_at_9_6_db_is_1e_5():
    assert theory.ber_bpsk(9.6) == pytest.approx(1.0e-5, rel=0.06)
    assert theory.ber_qpsk(9.6) == theory.ber_bpsk(9.6)


def test_bpsk_ber_at_0_db():
    # Q(sqrt 2) = 0.0786
    assert theory.ber_bpsk(0.0) == pytest.approx(0.0786, abs=1e-4)


def test_16qam_needs_about_4_db_more_than_bpsk_at_1e_5():
    x = np.linspace(5, 20, 3001)
    at = x[np.argmax(theory.ber_16qam(x) <= 1e-5)]
    assert at == pytest.approx(13.4, abs=0.15)


def test_uncoded_rejects_unknown_modulations():
    with pytest.raises(ValueError, match="bits_per_symbol"):
        theory.ber_uncoded(3, 5.0)


def test_shannon_limit_at_one_bit_per_dimension_is_0_db():
    assert theory.shannon_ebn0_min_db(1.0) == pytest.approx(0.0, abs=1e-12)


def test_shannon_limit_tends_to_minus_1_59_db():
    assert theory.shannon_ebn0_min_db(1e-6) == pytest.approx(-1.5917, abs=1e-3)
    assert theory.shannon_ebn0_min_db(1e-12) == pytest.approx(10 * math.log10(math.log(2)), abs=1e-9)


def test_shannon_limit_refuses_a_bad_efficiency():
    for eta in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eta"):
            theory.shannon_ebn0_min_db(eta)


def test_biawgn_capacity_ends():
    assert theory.biawgn_capacity(30.0) == pytest.approx(1.0, abs=1e-9)
    # at low SNR, C ~ SNR log2(e) / 2 with SNR = 2 Es/N0
    assert theory.biawgn_capacity(-30.0) == pytest.approx(1e-3 * math.log2(math.e), rel=0.01)


def test_bpsk_constrained_limit_for_rate_half_is_0_19_db():
    assert theory.biawgn_ebn0_limit_db(0.5) == pytest.approx(0.187, abs=0.01)


def test_bpsk_constrained_limits_rise_with_rate_and_approach_minus_1_59():
    limits = [theory.biawgn_ebn0_limit_db(r) for r in (0.01, 0.5, 2 / 3, 3 / 4)]
    assert limits == sorted(limits)
    assert limits[0] == pytest.approx(-1.59, abs=0.05)
    assert limits[3] == pytest.approx(1.63, abs=0.03)  # framing/ldpc.py's figure for 3/4


def test_biawgn_limit_refuses_rates_outside_0_1():
    for rate in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="rate"):
            theory.biawgn_ebn0_limit_db(rate)


def test_normal_approximation_sits_between_the_limit_and_the_decoder():
    # The best (1944, 972) code at block error 1e-3 needs more than the capacity limit (0.19 dB)
    # and less than the project's layered decoder measured (1.65 dB, framing/ldpc.py).
    x = np.linspace(0.0, 2.0, 401)
    p = theory.normal_approx_block_error(1944, 972, x)
    assert np.all(np.diff(p) <= 1e-15)
    at = x[np.argmax(p <= 1e-3)]
    assert 0.19 < at < 1.65
    assert 0.7 < at < 1.2


def test_normal_approximation_refuses_a_bad_code():
    with pytest.raises(ValueError, match="0 < k < n"):
        theory.normal_approx_block_error(100, 100, 1.0)


def test_frame_error_of_codewords():
    assert theory.frame_error(0.0, 4) == 0.0
    assert theory.frame_error(0.1, 2) == pytest.approx(0.19)
    assert theory.frame_error(1.0, 3) == pytest.approx(1.0)


def test_crossing_interpolates_in_log():
    # 1e-1 at 1 dB, 1e-5 at 2 dB: 1e-3 lies halfway in log.
    assert theory.crossing_db([0, 1, 2], [1, 1e-1, 1e-5], [100, 100, 1e6], 1e-3) == pytest.approx(1.5)


def test_crossing_counts_a_clean_point_as_half_an_error():
    # 10 trials, none lost at 2 dB: 0.05 stands in, the crossing is extrapolated beyond 2 dB.
    at = theory.crossing_db([1, 2], [0.5, 0.0], [10, 10], 1e-3)
    assert 2.0 < at <= 3.0


def test_crossing_follows_the_waterfall_beyond_a_clean_point():
    # 0.1 at 2 dB, 0.01 at 2.25 dB (4 decades per dB), then no error in 80 frames at 2.5 dB:
    # 1e-3 lies 0.25 dB beyond the last point with errors.
    at = theory.crossing_db([2.0, 2.25, 2.5], [0.1, 0.01, 0.0], [80, 80, 80], 1e-3)
    assert at == pytest.approx(2.5)
    # Two steps at most beyond the last point with errors.
    at = theory.crossing_db([2.0, 2.25, 2.5], [0.02, 0.01, 0.0], [80, 80, 80], 1e-3)
    assert at == pytest.approx(2.75)


def test_crossing_is_none_outside_the_sweep():
    assert theory.crossing_db([1, 2], [0.0, 0.0], [1e6, 1e6], 1e-3) is None  # starts too high
    assert theory.crossing_db([1, 2], [1.0, 0.5], [10, 10], 1e-3) is None  # ends too low


def test_crossing_refuses_ragged_input():
    with pytest.raises(ValueError, match="one entry per point"):
        theory.crossing_db([1, 2], [0.5], [10, 10], 1e-3)
