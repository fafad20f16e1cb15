"""Card IDs as text and as SQLite keys: the two formats the center and the terminal share.

Text (CONTRACT.md "card ID"): ASCII decimal digits only, 1 to 19 of them. Nineteen digits are
at most 9 999 999 999 999 999 999 < 2**64 = 18 446 744 073 709 551 616, so the length rule
keeps every ID inside u64; no sign, spaces, underscores or other scripts' digits (Python's
``int()`` would accept "+1", " 1", "1_0" and "١"; we do not). ``CardIdError`` says the same
thing, in the same words, wherever a bad ID is met.

SQLite keys: an ID (unsigned 64-bit) is stored as ``id XOR 2**63`` read as int64, which is
``id - 2**63``: a bijection of [0, 2**64) onto [-2**63, 2**63) that preserves order (0 ->
-2**63, 2**63 -> 0, 2**64-1 -> 2**63-1), so ``ORDER BY`` in SQL is numeric order of the card
IDs and a sorted list is inserted in key order (the B-tree only appends). The plain
two's-complement view would also be a bijection but would put the upper half first.
"""

from __future__ import annotations

import numpy as np

from framing.errors import CardIdError

__all__ = ["MAX_CARD_ID_DIGITS", "CardIdError", "from_sql_key", "from_sql_keys",
           "is_card_id_text", "parse_card_id", "to_sql_key", "to_sql_keys"]

# 19 digits: the longest PAN (ISO/IEC 7812).
MAX_CARD_ID_DIGITS = 19
_SIGN_BIT = np.uint64(1 << 63)


def is_card_id_text(text: object) -> bool:
    """True when ``text`` follows the card ID rule (1..19 ASCII digits)."""
    return (isinstance(text, str) and 0 < len(text) <= MAX_CARD_ID_DIGITS and text.isascii()
            and text.isdigit())


def parse_card_id(text: str) -> int:
    """Text -> card ID; ``CardIdError`` naming the text when it is not one."""
    if not is_card_id_text(text):
        raise CardIdError(f"bad card ID {text!r}: a card ID is 1 to {MAX_CARD_ID_DIGITS} "
                          "decimal digits")
    return int(text)


def to_sql_key(card_id: int) -> int:
    """Unsigned 64-bit card ID -> its signed SQLite key."""
    return card_id - (1 << 63)


def from_sql_key(key: int) -> int:
    """Inverse of ``to_sql_key``."""
    return key + (1 << 63)


def to_sql_keys(ids: np.ndarray) -> np.ndarray:
    """Vector form of ``to_sql_key``: uint64 array -> int64 array of the same shape."""
    return (np.asarray(ids, dtype=np.uint64) ^ _SIGN_BIT).view(np.int64)


def from_sql_keys(keys: np.ndarray) -> np.ndarray:
    """Inverse of ``to_sql_keys``: int64 array -> uint64 array."""
    return np.asarray(keys, dtype=np.int64).view(np.uint64) ^ _SIGN_BIT
