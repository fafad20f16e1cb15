"""Structure-aware mutations of seed inputs, and the choice of the next input to run.

A mutation is a few edits (one to eight, mostly one) drawn from: flip a bit, set a byte to
an interesting value, add a small number to an integer, set a declared field (``Field``) to a
boundary value (0, 1, the top of its width, 2**31, 2**32-1, 2**63, 2**64-1, or one off its own
value), write a token of the target's dictionary (magic strings, varint encodings of huge
counts, JSON that nests or overflows), insert, delete, duplicate, truncate, extend, or splice
with another input of the pool. Besides mutations, a share of inputs is random bytes, and a
share comes from the target's grammar-aware ``generate``. ``fixup`` re-seals most results.
"""

from __future__ import annotations

import random

_BOUNDARY = {
    1: (0, 1, 0x7F, 0x80, 0xFF),
    2: (0, 1, 0x7FFF, 0x8000, 0xFFFF),
    4: (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x00FFFFFF, 0x01000000),
    8: (0, 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64 - 2),
}
_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x0A, 0x22, 0x5B, 0x7B, 0x5C)
_RANDOM_SHARE = 0.05
_GENERATE_SHARE = 0.25
_FIXUP_SHARE = 0.85


def _pos(rng: random.Random, data: bytearray, extra: int = 0) -> int:
    return rng.randrange(len(data) + extra) if len(data) + extra else 0


def _flip_bit(rng, data, seed, pool, tokens):
    if data:
        i = _pos(rng, data)
        data[i] ^= 1 << rng.randrange(8)


def _set_byte(rng, data, seed, pool, tokens):
    if data:
        data[_pos(rng, data)] = rng.choice(_BYTES) if rng.random() < 0.5 else rng.randrange(256)


def _arith(rng, data, seed, pool, tokens):
    size = rng.choice((1, 2, 4, 8))
    if len(data) < size:
        return
    i = rng.randrange(len(data) - size + 1)
    order = rng.choice(("big", "little"))
    value = int.from_bytes(data[i:i + size], order) + rng.choice((-1, 1)) * rng.randint(1, 35)
    data[i:i + size] = (value % 2 ** (8 * size)).to_bytes(size, order)


def _set_field(rng, data, seed, pool, tokens):
    fields = [f for f in seed.fields if f.offset + f.size <= len(data)]
    if not fields:
        return _arith(rng, data, seed, pool, tokens)
    f = rng.choice(fields)
    current = int.from_bytes(data[f.offset:f.offset + f.size], f.order)
    top = 2 ** (8 * f.size)
    choices = [v for v in _BOUNDARY[f.size]] + [current - 1, current + 1, current * 2, current // 2,
                                                  rng.randrange(top)]
    data[f.offset:f.offset + f.size] = (rng.choice(choices) % top).to_bytes(f.size, f.order)


def _token(rng, data, seed, pool, tokens):
    if not tokens:
        return _set_byte(rng, data, seed, pool, tokens)
    token = rng.choice(tokens)
    i = _pos(rng, data, 1)
    if rng.random() < 0.5:
        data[i:i] = token
    else:
        data[i:i + len(token)] = token


def _insert(rng, data, seed, pool, tokens):
    i = _pos(rng, data, 1)
    n = rng.choice((1, 2, 4, 8, 16, 64, 256))
    fill = rng.choice((None, 0x00, 0xFF))
    data[i:i] = rng.randbytes(n) if fill is None else bytes([fill]) * n


def _delete(rng, data, seed, pool, tokens):
    if data:
        i = _pos(rng, data)
        del data[i:i + rng.choice((1, 2, 4, 8, 16, 64, 256))]


def _duplicate(rng, data, seed, pool, tokens):
    if data:
        i = _pos(rng, data)
        piece = data[i:i + rng.choice((1, 4, 16, 64, 256, 4096))]
        j = _pos(rng, data, 1)
        data[j:j] = piece * rng.choice((1, 1, 2, 8))


def _truncate(rng, data, seed, pool, tokens):
    if data:
        del data[_pos(rng, data):]


def _extend(rng, data, seed, pool, tokens):
    n = rng.choice((1, 7, 64, 1024, 16384))
    kind = rng.randrange(4)
    if kind == 0:
        data += rng.randbytes(n)
    elif kind == 1:
        data += bytes([rng.choice((0x00, 0xFF))]) * n
    elif data:
        data += bytes(data[-rng.randint(1, min(len(data), 256)):]) * max(1, n // 256)


def _splice(rng, data, seed, pool, tokens):
    other = rng.choice(pool).data
    if data and other:
        i, j = _pos(rng, data), rng.randrange(len(other))
        data[i:] = other[j:]


_OPS = (_flip_bit, _flip_bit, _set_byte, _arith, _set_field, _set_field, _set_field, _token,
        _token, _insert, _delete, _duplicate, _truncate, _extend, _splice)


def _apply(rng: random.Random, op, seed) -> bytes:
    """One edit ``op`` of ``seed.data`` (for tests of the mutations)."""
    data = bytearray(seed.data)
    op(rng, data, seed, [seed], ())
    return bytes(data)


def mutate(rng: random.Random, seed, pool, tokens: tuple[bytes, ...], max_len: int) -> bytes:
    """One to eight edits of ``seed.data`` (see the module docstring), at most ``max_len`` bytes."""
    data = bytearray(seed.data)
    for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 8))):
        rng.choice(_OPS)(rng, data, seed, pool, tokens)
    return bytes(data[:max_len])


def next_input(rng: random.Random, target, parent, pool) -> bytes:
    """The next input for ``target``: random bytes, a generated one, or a mutation of ``parent``."""
    roll = rng.random()
    if roll < _RANDOM_SHARE:
        data = rng.randbytes(rng.choice((0, 1, 7, 36, 85, 181, 1024, 4096)))
    elif target.generate is not None and roll < _RANDOM_SHARE + _GENERATE_SHARE:
        data = target.generate(rng)
    else:
        data = mutate(rng, parent, pool, target.tokens, target.max_input_bytes)
    data = data[:target.max_input_bytes]
    if target.fixup is not None and rng.random() < _FIXUP_SHARE:
        data = target.fixup(data)
    return data
