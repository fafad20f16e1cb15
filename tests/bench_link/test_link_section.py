"""The link section: its plan, its curves' helpers, its plots, and (slow) a whole quick run."""

from pathlib import Path

import pytest

from hotcast.bench import link, link_plots
from hotcast.bench.codesim import CodePoint
from hotcast.bench.link_plan import PROFILES, make_plan, profile_theory
from hotcast.bench.link_sweeps import CodeCurve, Curve, tolerance
from hotcast.bench.linksim import LinkPoint, LinkResult
from hotcast.bench.model import BenchContext


def _result(profile: str, x: float, sent: int, decoded: int, ber=0.05) -> LinkResult:
    return LinkResult(LinkPoint(profile, max(sent, 2), ebn0_db=x), sent, decoded, ber, 4 * sent,
                      0, 0.1)


def _curve(profile, points):
    curve = Curve()
    for x, sent, decoded in points:
        curve.add(x, _result(profile, x, sent, decoded))
    return curve


def test_profile_theory_of_fm():
    th = profile_theory("fm")
    assert (th.code_rate, th.codewords_per_frame, th.bits_per_symbol) == (0.75, 4, 2)
    assert th.efficiency == pytest.approx(0.697 / 1.1, rel=0.01)
    assert th.eta == pytest.approx(2 * th.efficiency)
    assert 0 < th.overhead_db < 1.5  # 3/4 over 0.634


def test_plans_cover_every_profile_and_quick_is_smaller():
    quick, full = make_plan(True), make_plan(False)
    for plan in (quick, full):
        assert set(plan.ebn0_db) == set(plan.frames) == set(PROFILES)
    for p in PROFILES:
        assert quick.frames[p] * len(quick.ebn0_db[p]) < full.frames[p] * len(full.ebn0_db[p])


def test_curve_crossing_and_tolerance():
    curve = _curve("fm", [(2.0, 100, 0), (3.0, 100, 90), (4.0, 10_000, 9_999)])
    # FER 0.1 at 3 dB, 1e-4 at 4 dB: 1e-3 two thirds of the way in log.
    assert curve.crossing(1e-3) == pytest.approx(3.67, abs=0.01)
    assert curve.frames_per_point == 10_000
    offsets = _curve("fm", [(-300.0, 4, 4), (0.0, 4, 4), (300.0, 4, 3), (100.0, 4, 4)])
    assert tolerance(offsets) == 100.0
    assert tolerance(_curve("fm", [(0.0, 4, 3)])) is None


def test_code_curve_frames_of_several_codewords():
    code = CodeCurve("80211n-1944-1/2", [CodePoint(1.0, 1000, 100), CodePoint(2.0, 1000, 0)])
    assert code.frame_fers(2)[0] == pytest.approx(0.19)
    assert code.crossing(1e-3, 2) is not None and 1.0 < code.crossing(1e-3, 2) <= 3.0


def test_plots_are_written(tmp_path: Path):
    curve = _curve("fm-robust", [(1.0, 10, 0), (2.0, 10, 6), (3.0, 10, 10)])
    code = CodeCurve("80211n-1944-1/2", [CodePoint(1.0, 64, 20), CodePoint(1.5, 64, 0)])
    paths = [link_plots.plot_ebn0("fm-robust", profile_theory("fm-robust"), curve, code, tmp_path),
             link_plots.plot_cnr({"fm": _curve("fm", [(16.0, 4, 0), (18.0, 4, 4)])}, tmp_path),
             link_plots.plot_codecs([["audio", "mp3128k", 4, 0.0], ["audio-robust", "opus24k", 4, 0.5]],
                                    tmp_path)]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.mark.slow
def test_quick_link_section(tmp_path: Path):
    steps = []
    section = link.run(BenchContext(quick=True, out_dir=tmp_path, progress=steps.append, seed=1))
    assert section.name == "link" and len(steps) >= 10
    assert len(section.plots) == 9 and all(p.exists() and p.parent == tmp_path for p in section.plots)
    fig = {f.key: f for f in section.figures}
    assert len(fig) == len(section.figures)
    assert all(k.startswith("link.") and f.unit for k, f in fig.items())
    # The waterfalls sit where issue 8 and framing/profiles.py measured them (coarse: quick).
    assert 2.5 <= fig["link.fm.ebn0_at_fer_1e-3"].value <= 6.0
    assert 1.0 <= fig["link.fm-robust.ebn0_at_fer_1e-3"].value < fig["link.fm.ebn0_at_fer_1e-3"].value + 0.5
    for p in PROFILES:
        assert 0.5 < fig[f"link.{p}.gap_to_shannon_db"].value < 25.0
    assert 15.0 <= fig["link.fm.cnr_at_fer_1e-3"].value <= 21.0
    assert fig["link.fm-robust.cnr_at_fer_1e-3"].value < fig["link.fm.cnr_at_fer_1e-3"].value
    assert fig["link.fm-robust.margin_over_rds_db"].value > 3.0
    assert fig["link.ir.jitter_tolerance_us"].value >= 100.0  # FIELD-NOTES: +-100 us is normal
    assert any("quick run" in n for n in section.notes)


def test_thresholds_carry_their_grid_resolution_as_spread():
    from hotcast.bench.link import _beyond, _fig, _half_step

    assert _half_step([2.0, 2.5, 3.0]) == 0.25
    (fig,) = _fig("link.x.ebn0_at_fer_1e-3", 4.0, "dB", "x", "lower", 0.25)
    assert fig.rel_spread == pytest.approx(0.0625)
    assert _fig("link.x.y", None, "dB", "x", "lower") == []
    assert _fig("link.x.y", 0.0, "Hz", "x", "higher", 0.1)[0].rel_spread is None
    # tolerance 100 in a sweep of 0, 100, 150: the next point failed 50 further on.
    assert _beyond([0.0, 100.0, 150.0, -100.0], 100.0) == 25.0
    assert _beyond([0.0, 100.0], 100.0) is None
