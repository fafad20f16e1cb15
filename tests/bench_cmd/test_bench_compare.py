"""--compare: the threshold rule and what it flags."""

from __future__ import annotations

import math

import pytest

from hotcast.bench import compare


def fig(key, value, better="higher", spread=0.01, unit="x"):
    return {"key": key, "value": value, "unit": unit, "label": key, "better": better,
            "rel_spread": spread, "repeats": 3}


def doc(*figures, **extra):
    return {"schema": "hotcast-bench/1", "machine": {"cpu": "A", "cores": 2},
            "versions": {"python": "3.11", "numpy": "2"}, "options": {"quick": False},
            "sections": [{"name": "s", "figures": list(figures)}], **extra}


def test_threshold_is_the_floor_for_small_spreads_and_k_sigma_above():
    assert compare.threshold(0.001, 0.001) == compare.FLOOR
    assert compare.threshold(0.1, 0.1) == pytest.approx(compare.K * math.hypot(0.1, 0.1))
    assert compare.threshold(None, None) == pytest.approx(
        compare.K * math.hypot(compare.UNKNOWN_SPREAD, compare.UNKNOWN_SPREAD))


def test_a_slowdown_just_over_ten_percent_with_tight_spreads_is_flagged_worse():
    c = compare.judge(fig("a", 100.0), fig("a", 89.0))
    assert c.verdict == "worse" and c.change == pytest.approx(-0.11)


def test_direction_follows_better():
    assert compare.judge(fig("t", 1.0, "lower"), fig("t", 1.2, "lower")).verdict == "worse"
    assert compare.judge(fig("t", 1.0, "lower"), fig("t", 0.8, "lower")).verdict == "better"
    assert compare.judge(fig("a", 100.0), fig("a", 120.0)).verdict == "better"


def test_a_change_within_the_noise_is_same():
    # 10 % spreads: threshold 3 x 14 % = 42 %; a 30 % change is noise.
    assert compare.judge(fig("a", 100.0, spread=0.1), fig("a", 130.0, spread=0.1)).verdict == "same"
    assert compare.judge(fig("a", 100.0), fig("a", 108.0)).verdict == "same"  # under the floor


def test_descriptive_zero_and_nonfinite_figures_are_not_judged():
    assert compare.judge(fig("d", 1.0, better=None), fig("d", 5.0, better=None)) is None
    assert compare.judge(fig("z", 0.0), fig("z", 5.0)) is None
    assert compare.judge(fig("n", 1.0), fig("n", float("nan"))) is None


def test_compare_lists_flagged_first_and_new_and_gone_keys():
    old = doc(fig("a", 100.0), fig("b", 100.0), fig("gone", 1.0))
    new = doc(fig("a", 101.0), fig("b", 50.0), fig("new", 1.0))
    result = compare.compare(old, new)
    assert [c.key for c in result["changes"]] == ["b", "a"]
    assert result["changes"][0].verdict == "worse"
    assert result["new"] == ["new"] and result["gone"] == ["gone"]
    lines = compare.describe(result, "old.json")
    assert any("WORSE" in line and "b" in line for line in lines)
    assert "1 changed beyond the noise, 1 within it" in lines[-1]


def test_quick_runs_get_the_higher_floor():
    old, new = doc(fig("a", 100.0)), doc(fig("a", 85.0))
    assert compare.compare(old, new)["changes"][0].verdict == "worse"
    new["options"] = {"quick": True}
    result = compare.compare(old, new)
    assert result["floor"] == compare.QUICK_FLOOR
    assert result["changes"][0].verdict == "same"


def test_a_busy_machine_is_named():
    old, new = doc(fig("a", 1.0)), doc(fig("a", 1.0))
    new["machine"]["load_end"] = 3.5
    assert any("shared the machine" in d for d in compare.context_differences(old, new))


def test_a_different_machine_or_mode_is_named():
    old = doc(fig("a", 1.0))
    new = doc(fig("a", 1.0), options={"quick": True})
    new["machine"] = {"cpu": "B", "cores": 2}
    found = compare.context_differences(old, new)
    assert any("CPU differs" in d for d in found)
    assert any("--quick" in d for d in found)
