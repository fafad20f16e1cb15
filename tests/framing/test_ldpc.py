"""LDPC codes (802.11n, 1944 bits): tables, encoder, soft decoder."""

import numpy as np
import pytest

from framing.ldpc import CODE_NAMES, KNOWN_LLR, LdpcDecoder, LdpcEncoder, ldpc_code
from framing.ldpc_tables import BASE_1944


@pytest.mark.parametrize("rate,rows", [("1/2", 12), ("2/3", 8), ("3/4", 6), ("5/6", 4)])
def test_tables_have_the_802_11n_shape(rate, rows):
    base = np.array(BASE_1944[rate])
    assert base.shape == (rows, 24)
    assert base.max() < 81 and base.min() >= -1
    parity = base[:, 24 - rows:]
    first = parity[:, 0]
    assert sorted(first[first >= 0].tolist()) == [0, 1, 1]  # 1, 0 (middle), 1
    assert all(parity[r, r + 1] == 0 for r in range(rows - 1))  # dual diagonal
    assert all(parity[r + 1, r + 1] == 0 for r in range(rows - 1))


@pytest.mark.parametrize("name", CODE_NAMES)
def test_encoder_makes_codewords(name):
    code = ldpc_code(name)
    rng = np.random.default_rng(0)
    info = rng.integers(0, 2, (5, code.k)).astype(np.uint8)
    words = LdpcEncoder(code).encode(info)
    assert words.shape == (5, 1944) and np.array_equal(words[:, :code.k], info)
    assert LdpcDecoder(code).syndrome_ok(words).all()
    flipped = words.copy()
    flipped[:, 7] ^= 1
    assert not LdpcDecoder(code).syndrome_ok(flipped).any()


def test_unknown_code_is_named():
    with pytest.raises(ValueError, match="80211n-1944-3/4"):
        ldpc_code("80211n-648-1/2")
    with pytest.raises(ValueError):
        LdpcDecoder(ldpc_code("80211n-1944-1/2"), max_iterations=0)


def _awgn_llr(words, ebn0_db, rate, rng):
    esn0 = 10 ** (ebn0_db / 10) * rate
    sigma = np.sqrt(1 / (2 * esn0))
    y = 1 - 2.0 * words + sigma * rng.standard_normal(words.shape)
    return (2 * y / sigma**2).astype(np.float32)


@pytest.mark.parametrize("name,ebn0_db", [("80211n-1944-3/4", 3.5), ("80211n-1944-1/2", 2.5)])
def test_decodes_soft_noise_above_threshold(name, ebn0_db):
    code = ldpc_code(name)
    rng = np.random.default_rng(1)
    info = rng.integers(0, 2, (20, code.k)).astype(np.uint8)
    words = LdpcEncoder(code).encode(info)
    llr = _awgn_llr(words, ebn0_db, code.rate, rng)
    assert (llr < 0).astype(np.uint8).tolist() != words.tolist()  # there is something to fix
    got = LdpcDecoder(code).decode(llr)
    assert got.converged.all() and np.array_equal(got.bits, words)
    assert 0 < got.iterations.max() <= 30


def test_clean_codewords_skip_the_iterations():
    code = ldpc_code("80211n-1944-3/4")
    words = LdpcEncoder(code).encode(np.random.default_rng(2).integers(0, 2, (3, code.k)))
    got = LdpcDecoder(code).decode(np.where(words == 1, -4.0, 4.0))
    assert got.converged.all() and not got.iterations.any()


def test_noise_costs_at_most_max_iterations_and_never_claims_success():
    code = ldpc_code("80211n-1944-1/2")
    dec = LdpcDecoder(code, max_iterations=12)
    got = dec.decode(np.random.default_rng(3).standard_normal((4, code.n)).astype(np.float32))
    assert not got.converged.any() and (got.iterations == 12).all()


def test_known_bits_help():
    """Shortened (known) bits enter at KNOWN_LLR and pull the rest of the word along."""
    code = ldpc_code("80211n-1944-3/4")
    rng = np.random.default_rng(4)
    info = np.zeros((10, code.k), dtype=np.uint8)
    info[:, :700] = rng.integers(0, 2, (10, 700))
    words = LdpcEncoder(code).encode(info)
    llr = _awgn_llr(words, 2.0, code.rate, rng)  # below this code's threshold
    plain = LdpcDecoder(code).decode(llr)
    llr[:, 700:code.k] = KNOWN_LLR
    helped = LdpcDecoder(code).decode(llr)
    assert helped.converged.sum() > plain.converged.sum()
    assert np.array_equal(helped.bits[helped.converged], words[helped.converged])


def test_erasures_within_the_redundancy_are_filled():
    """Bits past the end of a capture enter as LLR 0: a codeword missing 15 % of its bits (the
    code has 25 % of checks) is still decoded."""
    code = ldpc_code("80211n-1944-3/4")
    rng = np.random.default_rng(5)
    words = LdpcEncoder(code).encode(rng.integers(0, 2, (4, code.k)))
    llr = np.where(words == 1, -4.0, 4.0).astype(np.float32)
    llr[:, -int(0.15 * code.n):] = 0.0
    got = LdpcDecoder(code).decode(llr)
    assert got.converged.all() and np.array_equal(got.bits, words) and got.iterations.all()


def test_more_erasures_than_checks_are_given_up_without_iterating():
    """A codeword with more erased bits than parity checks has many solutions: it is reported
    unconverged at once (0 iterations), while its clean neighbours in the batch still decode."""
    code = ldpc_code("80211n-1944-3/4")
    rng = np.random.default_rng(6)
    words = LdpcEncoder(code).encode(rng.integers(0, 2, (3, code.k)))
    llr = np.where(words == 1, -4.0, 4.0).astype(np.float32)
    llr[1, :code.n - code.k + 1] = 0.0  # one erasure more than the checks
    llr[2, :code.n - code.k] = 0.0  # exactly as many: still tried
    got = LdpcDecoder(code).decode(llr)
    assert got.converged[0] and not got.converged[1]
    assert got.iterations[1] == 0 and got.iterations[2] > 0
    assert np.array_equal(got.bits[0], words[0])
