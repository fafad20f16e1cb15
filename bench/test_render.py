"""``center render`` speed: carousel -> frames -> MPX (-> FM I/Q) -> file bytes, x real time.

Each case renders 10 s of a carousel holding one ~68 KB full bundle (90 blocks) and encodes the
samples as a sink would (encode_samples, no disk write, so the figure is the CPU cost).
Run: .venv/bin/pytest bench/test_render.py --benchmark-only -q (target: at least 2x real time)
"""

from dataclasses import dataclass

import numpy as np
import pytest

from center.air.render import CarouselRenderer, RenderConfig
from crypto import BundleKind
from modem import TxOptions
from modem.formats import encode_samples

SECONDS = 10.0


@dataclass(frozen=True)
class _Bundle:
    seq: int
    kind: BundleKind
    sealed: bytes


BUNDLES = [_Bundle(1, BundleKind.FULL, np.random.default_rng(1).integers(0, 256, 68_000, np.uint8).tobytes())]

CASES = {
    "mpx_s16le": (RenderConfig(duration_s=SECONDS), "s16le"),
    "mpx_programme_s16le": (RenderConfig(TxOptions(with_programme=True), SECONDS), "s16le"),
    "iq_cu8_1200k": (RenderConfig(TxOptions(iq_rate_hz=1_200_000), SECONDS), "cu8"),
    "iq_programme_cu8_1200k": (RenderConfig(TxOptions(iq_rate_hz=1_200_000, with_programme=True),
                                            SECONDS), "cu8"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_render_speed(benchmark, case):
    config, fmt = CASES[case]
    renderer = CarouselRenderer("fm", BUNDLES, config)

    def run():
        return sum(len(encode_samples(block, fmt)) for block in renderer.blocks())

    nbytes = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert nbytes == round(SECONDS * renderer.output_rate_hz) * 2
    benchmark.extra_info["x_real_time"] = round(SECONDS / benchmark.stats["min"], 1)
    benchmark.extra_info["output_rate_hz"] = renderer.output_rate_hz
    # Target: a live broadcast renders ahead of the play position with room for the registry
    # polls and deltas between frames, so rendering must run at least 2x real time.
    assert benchmark.stats["min"] < SECONDS / 2, (
        f"{case}: rendering at {SECONDS / benchmark.stats['min']:.1f}x real time, target 2x")
