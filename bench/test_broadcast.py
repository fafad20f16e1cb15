"""Live broadcast rendering per profile: what ``hotcast center serve`` / ``broadcast`` puts on air,
frames -> samples (or IR pulse timings) at the profile's output rate, as x real time on one core.

The carousel is a center's real one (``CenterHome.carousel``: the root-signed key set, the full
list of 100 000 cards, a delta after one report) in a ``LiveCarousel``; each round renders
``SIGNAL_S`` seconds of air and a delta cuts in at a frame boundary halfway (an urgent change,
as a report makes one). The figure is seconds of signal per CPU second of this process
(``time.process_time``: the machine is shared, so CPU time is the target, wall time is
reported). Target: every profile renders at least ``TARGET_X_REAL_TIME`` x faster than real
time, since a live output that falls behind real time goes silent; the margin leaves the
scheduler's builds, the HTTP service and other channels room on the same core.

The report -> terminal latency this file used to measure on one frame loop is now measured in
full, per profile and from the shell or an HTTP report, by bench/test_time_to_protection.py.

extra_info: ``x_real_time``, ``signal_s``, ``cpu_s``, ``output_rate_hz``, ``frames``.
Run: ``.venv/bin/pytest bench/test_broadcast.py --benchmark-only -q``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "center"))

from center_helpers import NOW, make_home  # noqa: E402

from center.air.live import LiveCarousel  # noqa: E402
from crypto import BundleKind  # noqa: E402
from modem import profile_names  # noqa: E402

LISTED = 100_000
SIGNAL_S = 20.0
TARGET_X_REAL_TIME = 5.0


@pytest.fixture(scope="module")
def carousels(tmp_path_factory):
    """(before, after): the carousel with the full list, and with the delta of one report."""
    from crypto import _keyfile

    saved = _keyfile.DEFAULT_KDF
    _keyfile.DEFAULT_KDF = _keyfile.KdfParams(log2_n=10)  # the bench is not about the KDF
    try:
        with make_home(tmp_path_factory.mktemp("broadcast") / "home") as home:
            home.import_csv("".join(f"{4000000000000000 + 7919 * i},stolen\n"
                                    for i in range(LISTED)), now=NOW, by="bench")
            home.build(BundleKind.FULL, now=NOW, by="bench")
            before = home.carousel(NOW)
            home.revoke(["4999999999999999"], now=NOW, by="bench")
            home.build(BundleKind.DELTA, now=NOW, by="bench")
            after = home.carousel(NOW)
    finally:
        _keyfile.DEFAULT_KDF = saved
    assert [b.kind for b in after][-2:] == [BundleKind.FULL, BundleKind.DELTA]
    return before, after


@pytest.mark.parametrize("profile", profile_names())
def test_live_render_speed(benchmark, carousels, profile: str) -> None:
    before, after = carousels
    cpu: list[float] = []

    def one_round() -> int:
        live = LiveCarousel(profile)
        frames = max(2, round(SIGNAL_S / live.frame_s))
        start = time.process_time()
        live.update(before, NOW)
        blocks = [live.process(1) for _ in range(frames // 2)]
        live.update(after, NOW)
        blocks += [live.process(1) for _ in range(frames - frames // 2)]
        cpu.append(time.process_time() - start)
        assert all(b.samples.size for b in blocks)
        assert any(e.seq == after[-1].seq and e.urgent for b in blocks for e in b.events), \
            "the delta never cut in"
        return frames

    frames = benchmark.pedantic(one_round, rounds=3, iterations=1)
    live = LiveCarousel(profile)
    signal_s = frames * live.frame_s
    x = signal_s / (sum(cpu) / len(cpu))
    benchmark.extra_info.update(x_real_time=round(x, 1), signal_s=round(signal_s, 2),
                                cpu_s=round(sum(cpu) / len(cpu), 3), frames=frames,
                                output_rate_hz=live.output_rate_hz,
                                target_x_real_time=TARGET_X_REAL_TIME)
    assert x >= TARGET_X_REAL_TIME, f"{profile}: {x:.1f} x real time, target {TARGET_X_REAL_TIME}"
