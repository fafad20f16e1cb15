"""Issue 2's size target for a whole sealed full bundle, through the center as operators use it:
at most 1.15 x (log2 C(U, r) + r x H(reasons)) bits plus the fixed seal overhead."""

import math

import numpy as np
import pytest

from crypto import BundleKind, SEAL_OVERHEAD_BYTES
from framing import Reason, Universe, bound_bits
from tests.receiver.test_pipeline_signal import init_center

NOW = 1_790_000_000


def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


@pytest.mark.parametrize("r, size, weights", [
    (2_000, 10_000_000, (1.0, 0, 0, 0)),
    (20_000, 10_000_000, (0.6, 0.3, 0.07, 0.03)),
    (20_000, 10**12, (0.25, 0.25, 0.25, 0.25)),
])
def test_sealed_full_bundle_is_close_to_the_bound(tmp_path, r, size, weights):
    rng = np.random.default_rng(r + size)
    lo = 4_000_000_000_000_000
    center, _ = init_center(tmp_path / "c", Universe(((lo, lo + size - 1),)), now=NOW)
    ids = lo + rng.choice(size, size=r, replace=False)
    reasons = rng.choice(4, size=r, p=weights)
    for code in range(4):
        picked = [int(x) for x in ids[reasons == code]]
        if picked:
            center.revoke(picked, Reason(code), now=NOW, by="t")
    built = center.build(BundleKind.FULL, now=NOW, by="t")
    information_bits = bound_bits(size, r) + r * _entropy_bits(np.bincount(reasons, minlength=4))
    limit_bytes = 1.15 * information_bits / 8 + SEAL_OVERHEAD_BYTES
    assert len(built.sealed) <= math.ceil(limit_bytes), (len(built.sealed), limit_bytes)
    center.close()
