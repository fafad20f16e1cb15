"""Card IDs (unsigned 64-bit) as SQLite integer keys (signed 64-bit).

An ID is stored as ``id XOR 2**63`` reinterpreted as int64, which is ``id - 2**63``:
a bijection of [0, 2**64) onto [-2**63, 2**63) that preserves order (0 -> -2**63,
2**63 -> 0, 2**64-1 -> 2**63-1). So a sorted list is inserted in key order (the B-tree
only appends), and ``ORDER BY id`` in SQL is numeric order of the card IDs. The plain
two's-complement view (IDs >= 2**63 become negative) would also be a bijection but would
put the upper half of the IDs before the lower half.
"""

import numpy as np

_SIGN_BIT = np.uint64(1 << 63)


def to_key(card_id: int) -> int:
    """Unsigned 64-bit card ID -> its signed SQLite key."""
    return card_id - (1 << 63)


def from_key(key: int) -> int:
    """Inverse of ``to_key``."""
    return key + (1 << 63)


def to_keys(ids: np.ndarray) -> np.ndarray:
    """Vector form of ``to_key``: uint64 array -> int64 array of the same shape."""
    return (np.asarray(ids, dtype=np.uint64) ^ _SIGN_BIT).view(np.int64)


def from_keys(keys: np.ndarray) -> np.ndarray:
    """Inverse of ``to_keys``: int64 array -> uint64 array."""
    return np.asarray(keys, dtype=np.int64).view(np.uint64) ^ _SIGN_BIT
