"""LDPC decoder: FER against Eb/N0 per code rate, and speed of the numpy decoder beside the
``ldpc`` package's C++ BpDecoder where it is installed (it is not a dependency).

Run: PYTHONPATH=$PWD .venv/bin/python -m pytest bench/test_ldpc.py --benchmark-only -q -s
Targets: FER <= 1e-2 at the points below (400 codewords each; FER 1e-3 sits ~0.3 dB higher);
the numpy decoder >= 1 Mbit/s of coded bits near threshold (26x the fm raw rate).
"""

import numpy as np
import pytest

from framing.ldpc import LdpcDecoder, LdpcEncoder, ldpc_code


def _llr(code, words, ebn0_db, rng):
    sigma = np.sqrt(1 / (2 * 10 ** (ebn0_db / 10) * code.rate))
    y = 1 - 2.0 * words + sigma * rng.standard_normal(words.shape)
    return (2 * y / sigma**2).astype(np.float32)


@pytest.mark.parametrize("name,ebn0_db", [("80211n-1944-1/2", 2.0), ("80211n-1944-2/3", 2.5),
                                          ("80211n-1944-3/4", 3.0)])
def test_fer_near_threshold(benchmark, name, ebn0_db):
    code = ldpc_code(name)
    rng = np.random.default_rng(1)
    words = LdpcEncoder(code).encode(rng.integers(0, 2, (400, code.k)))
    llr = _llr(code, words, ebn0_db, rng)
    dec = LdpcDecoder(code, 30)
    got = benchmark.pedantic(lambda: dec.decode(llr), rounds=1, iterations=1)
    fer = float(np.mean(~(got.bits == words).all(axis=1)))
    rate = words.size / benchmark.stats.stats.min
    benchmark.extra_info.update(fer=fer, coded_mbit_s=round(rate / 1e6, 2),
                                iterations=float(got.iterations.mean()))
    print(f"\n{name} at {ebn0_db} dB: FER {fer:.4f}, {got.iterations.mean():.1f} iterations, "
          f"{rate / 1e6:.2f} Mbit/s coded")
    assert fer <= 1e-2 and rate >= 1e6


def test_ldpc_package_beside_numpy(benchmark):
    bp_mod = pytest.importorskip("ldpc")
    sp = pytest.importorskip("scipy.sparse")
    code = ldpc_code("80211n-1944-3/4")
    z = code.z
    r_idx, c_idx = [], []
    for r, c in zip(*np.nonzero(code.base >= 0)):
        lanes = np.arange(z)
        r_idx.append(r * z + lanes)
        c_idx.append(c * z + (lanes + code.base[r, c]) % z)
    h = sp.csr_matrix((np.ones(code.edges, dtype=np.uint8),
                       (np.concatenate(r_idx), np.concatenate(c_idx))), shape=(code.n - code.k, code.n))
    rng = np.random.default_rng(2)
    words = LdpcEncoder(code).encode(rng.integers(0, 2, (200, code.k)))
    llr = _llr(code, words, 3.0, rng)
    bp = bp_mod.BpDecoder(h, error_rate=0.05, max_iter=30, bp_method="minimum_sum",
                          ms_scaling_factor=0.75, input_vector_type="received_vector")

    def run():
        ok = 0
        for i in range(len(llr)):
            bp.update_channel_probs(1 / (1 + np.exp(np.abs(llr[i]))))
            ok += np.array_equal(bp.decode((llr[i] < 0).astype(np.uint8)), words[i])
        return ok

    ok = benchmark.pedantic(run, rounds=1, iterations=1)
    rate = words.size / benchmark.stats.stats.min
    benchmark.extra_info.update(ok=int(ok), coded_mbit_s=round(rate / 1e6, 2))
    print(f"\nldpc BpDecoder (C++ min-sum): {ok}/200, {rate / 1e6:.2f} Mbit/s coded")
    assert ok == 200
