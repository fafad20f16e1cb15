"""Property: ANY single bit flip, truncation or appended bytes makes open_bundle refuse."""

import pytest
from crypto_simulator import NOW, Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import BundleError, BundleKind, open_bundle

SIM = Simulator()
TRUST = SIM.terminal().trust
SMALL = SIM.bundle(b"hot list body", kind=BundleKind.DELTA)
HEARTBEAT = SIM.bundle(b"", kind=BundleKind.HEARTBEAT)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize("bundle", [SMALL, HEARTBEAT], ids=["delta", "heartbeat"])
def test_every_single_bit_flip_of_a_small_bundle_is_refused(bundle):
    for bit in range(len(bundle) * 8):
        with pytest.raises(BundleError):
            open_bundle(_flip(bundle, bit), TRUST, NOW)


@pytest.mark.parametrize("bundle", [SMALL, HEARTBEAT], ids=["delta", "heartbeat"])
def test_every_truncation_is_refused(bundle):
    for length in range(len(bundle)):
        with pytest.raises(BundleError):
            open_bundle(bundle[:length], TRUST, NOW)


@settings(max_examples=300)
@given(body=st.binary(max_size=2000), kind=st.sampled_from(list(BundleKind)), data=st.data())
def test_any_bit_flip_is_refused(body, kind, data):
    sealed = SIM.bundle(body, kind=kind)
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
    with pytest.raises(BundleError):
        open_bundle(_flip(sealed, bit), TRUST, NOW)


@given(body=st.binary(max_size=2000), data=st.data())
def test_any_truncation_is_refused(body, data):
    sealed = SIM.bundle(body)
    length = data.draw(st.integers(0, len(sealed) - 1), label="length")
    with pytest.raises(BundleError):
        open_bundle(sealed[:length], TRUST, NOW)


@given(body=st.binary(max_size=500), extra=st.binary(min_size=1, max_size=300))
def test_any_appended_bytes_are_refused(body, extra):
    with pytest.raises(BundleError):
        open_bundle(SIM.bundle(body) + extra, TRUST, NOW)
