"""Property: ANY single bit flip, truncation or appended bytes makes open_bundle refuse."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import BundleError, BundleHeader, BundleKind, CenterKeys, open_bundle, provision, seal_bundle

KEYS = CenterKeys.generate()
TERMINAL = provision(KEYS)
HEADER = BundleHeader(BundleKind.DELTA, seq=5, base_seq=4, created_at=1_790_000_000,
                      valid_until=1_790_086_400, master_key_id=1, signing_key_id=1)
SMALL = seal_bundle(HEADER, b"hot list body", KEYS)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_every_single_bit_flip_of_a_small_bundle_is_refused():
    for bit in range(len(SMALL) * 8):
        with pytest.raises(BundleError):
            open_bundle(_flip(SMALL, bit), TERMINAL)


def test_every_truncation_is_refused():
    for length in range(len(SMALL)):
        with pytest.raises(BundleError):
            open_bundle(SMALL[:length], TERMINAL)


@settings(max_examples=400)
@given(body=st.binary(max_size=2000), data=st.data())
def test_any_bit_flip_is_refused(body, data):
    sealed = seal_bundle(HEADER, body, KEYS)
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
    with pytest.raises(BundleError):
        open_bundle(_flip(sealed, bit), TERMINAL)


@given(body=st.binary(max_size=2000), data=st.data())
def test_any_truncation_is_refused(body, data):
    sealed = seal_bundle(HEADER, body, KEYS)
    length = data.draw(st.integers(0, len(sealed) - 1), label="length")
    with pytest.raises(BundleError):
        open_bundle(sealed[:length], TERMINAL)


@given(body=st.binary(max_size=500), extra=st.binary(min_size=1, max_size=300))
def test_any_appended_bytes_are_refused(body, extra):
    with pytest.raises(BundleError):
        open_bundle(seal_bundle(HEADER, body, KEYS) + extra, TERMINAL)


@given(garbage=st.binary(max_size=400))
def test_arbitrary_bytes_are_refused_with_a_bundle_error(garbage):
    with pytest.raises(BundleError):
        open_bundle(garbage, TERMINAL)
