"""Every parser a terminal exposes to the air or to files, as fuzz targets: one adapter each.

An adapter (``_run_*``) is the only place that knows a parser's API: bytes in, the parser
called, its result checked by an oracle where there is one (chunk invariance, round trips).
When an API changes (crypto envelope v2 with key sets, LDPC frames, a list capacity),
re-point the adapter here, and its seeds in ``inputs_*.py``, and nothing else. ``TARGETS``
maps names to ``Target``s; the names are also the folders of ``corpus/``.

Each target declares what a bad input may raise (its folder's typed errors), its bounds, and
the ``Known`` findings that belong to another owner (counted, not failed; their reproducers in
``corpus/<target>/<known name>*`` replay as strict xfails).
"""

from __future__ import annotations

import functools
import random
import zlib

import numpy as np
from fuzz_engine import Known, Seed, Target
from inputs_crypto import (
    CARD, NOW, bundle_seeds, center_and_terminal_keys, key_file_seeds, recheck_key_file, resign_bundle, resign_token,
    roll_seeds, token_seeds,
)
from inputs_files import CSV_SEED, HZ_SEEDS, csv_lines, hz_text, sigmf_doc, sigmf_seeds, wav_seeds
from inputs_framing import (
    INT_TOKENS, blocks_of, consistent_k, dense_list, forged_blocks, frame_header_seeds,
    frame_sync_bit_seeds, list_seeds, reassembly_seeds,
)

import crypto
from center.csvimport import decode_csv_bytes, parse_csv
from center.errors import CenterInputError
from center.home import DEFAULT_UNIVERSE
from framing import (
    PROFILES as FRAME_PROFILES,
    FrameHeader,
    FramingError,
    FrameSync,
    Reassembler,
    check_header,
    decode_delta,
    decode_list,
)
from framing.frameformat import MAX_SOURCE_BLOCKS
from modem.errors import ModemError
from modem.formats import BYTES_PER_SAMPLE, SampleDecoder, WavDecoder, decode_samples, decode_wav, parse_sigmf_meta
from modem.rates import MAX_HZ, MIN_HZ, format_hz, parse_hz

def _cuts(data: bytes) -> list[int]:
    """Deterministic chunk boundaries for an input (chunk sizes 1..97 bytes, from its CRC)."""
    rng = random.Random(zlib.crc32(data))
    cuts, pos = [], 0
    while pos < len(data):
        pos += rng.choice((1, 2, 3, 5, 8, 13, 97))
        cuts.append(pos)
    return cuts


def _pieces(data: bytes) -> list[bytes]:
    edges = [0, *[c for c in _cuts(data) if c < len(data)], len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def _run_open_bundle(data: bytes) -> None:
    crypto.open_bundle(data, center_and_terminal_keys()[1])


def _run_bundle_header(data: bytes) -> None:
    crypto.read_unverified_header(data)


def _run_center_keys(data: bytes) -> None:
    crypto.CenterKeys.from_bytes(data)


def _run_terminal_keys(data: bytes) -> None:
    crypto.TerminalKeys.from_bytes(data)


def _run_check_token(data: bytes) -> None:
    crypto.check_token(data, CARD, NOW, center_and_terminal_keys()[1])


def _run_apply_key_roll(data: bytes) -> None:
    """First byte: 0 MASTER_ROLL, else SIGNER_ROLL; the rest is the roll body, as if it had
    opened under the center's keys (a signed roll from a stolen signing key)."""
    keys, terminal = center_and_terminal_keys()
    if not data:
        return
    kind = crypto.BundleKind.MASTER_ROLL if data[0] % 2 == 0 else crypto.BundleKind.SIGNER_ROLL
    header = crypto.BundleHeader(kind, 30, 0, NOW, NOW + 3600, keys.current_master_id, keys.signing_key_id)
    crypto.apply_key_roll(crypto.OpenedBundle(header, data[1:]), terminal)


def _run_decode_list(data: bytes) -> None:
    decode_list(data)


def _run_decode_delta(data: bytes) -> None:
    decode_delta(data)


def _run_frame_header(data: bytes) -> None:
    header = FrameHeader.from_bytes(data)
    for cfg in FRAME_PROFILES.values():
        try:
            checked = check_header(header, cfg)
        except FramingError:
            continue
        # What reassembly and RaptorQ rely on once a header passes (frameformat invariants).
        assert checked.block_bytes % 8 == 0 and 16 <= checked.block_bytes <= 65535, checked
        assert 1 <= checked.k <= MAX_SOURCE_BLOCKS and checked.block_index < checked.n, checked


def _run_reassembly(data: bytes) -> None:
    Reassembler().process(blocks_of(data))


def _frame_sync_seeds() -> list[Seed]:
    _frame_syncs()  # built here, not inside the first timed input
    return frame_sync_bit_seeds()


@functools.cache
def _frame_syncs() -> tuple[FrameSync, FrameSync]:
    """Two synchronisers, built once (their Reed-Solomon tables take 0.1 s) and reset per input."""
    cfg = FRAME_PROFILES["fm"]
    return FrameSync(cfg), FrameSync(cfg)


def _frame_key(frames) -> list[tuple]:
    return [(f.start_bit, f.inverted, f.corrected, f.block) for f in frames]


def _run_frame_sync(data: bytes) -> None:
    """Bits packed 8 a byte (LDPC frames will take soft bits: then view the bytes as int8
    LLRs here and feed them as they are); the whole stream and the same stream cut into
    pieces must give the same frames and statistics (FrameSync's chunk invariance)."""
    bits = np.unpackbits(np.frombuffer(data, np.uint8))
    whole, cut = _frame_syncs()
    whole.reset()
    cut.reset()
    frames = whole.process(bits)
    pieces = []
    for piece in _pieces(data):
        pieces += cut.process(np.unpackbits(np.frombuffer(piece, np.uint8)))
    assert _frame_key(pieces) == _frame_key(frames), "frames depend on how the bits were cut"
    assert cut.stats == whole.stats, (cut.stats, whole.stats)


def _run_sigmf(data: bytes) -> None:
    meta = parse_sigmf_meta(data)
    assert MIN_HZ <= meta.sample_rate_hz <= MAX_HZ, meta
    assert meta.frequency_hz is None or 0 <= meta.frequency_hz <= MAX_HZ, meta


def _run_wav(data: bytes) -> None:
    """Whole and chunked decoding agree (the streaming decoder's chunk invariance)."""
    try:
        info, whole = decode_wav(data)
    except ModemError:
        info, whole = None, None
    dec = WavDecoder()
    parts = []
    try:
        for piece in _pieces(data):
            parts.append(dec.process(piece))
    except ModemError:
        assert info is None or dec.info == info, "chunked WAV fails where the whole one reads"
        raise
    assert dec.info == info, (dec.info, info)
    if info is not None:
        streamed = np.concatenate(parts) if parts else whole[:0]
        assert streamed.tobytes() == whole.tobytes(), "WAV samples depend on how the bytes were cut"
        assert whole.dtype == (np.complex64 if info.is_iq else np.float32)


_RAW_FORMATS = sorted(BYTES_PER_SAMPLE)


def _run_raw_samples(data: bytes) -> None:
    """First byte picks the format; the rest decodes whole and chunked to the same samples."""
    if not data:
        return
    fmt, body = _RAW_FORMATS[data[0] % len(_RAW_FORMATS)], data[1:]
    size = BYTES_PER_SAMPLE[fmt]
    whole = decode_samples(body[: len(body) - len(body) % size], fmt)
    dec = SampleDecoder(fmt)
    parts = [dec.process(p) for p in _pieces(body)]
    streamed = np.concatenate(parts) if parts else whole[:0]
    assert streamed.tobytes() == whole.tobytes() and dec.leftover_bytes == len(body) % size


def _run_hz_text(data: bytes) -> None:
    hz = parse_hz(data.decode("utf-8", "replace"))
    assert MIN_HZ <= hz <= MAX_HZ and parse_hz(format_hz(hz)) == hz, hz


def _run_csv(data: bytes) -> None:
    parse_csv(decode_csv_bytes(data), DEFAULT_UNIVERSE)


# -- the table --------------------------------------------------------------------------------


_RAPTORQ_PANIC = Known(
    "raptorq-panic", kind="exception", exception="PanicException",
    reason="found by fuzzing: a block length that is not a multiple of 8 (here 761 bytes, K=2) "
           "makes the raptorq decoder panic (PanicException, a BaseException) in "
           "Reassembler._push; framing owner fixes (refuse block_bytes % 8 in _plausible, catch "
           "at the stage boundary)",
)
_LIST_MEMORY = Known(
    "list-memory", kind="memory",
    reason="found by fuzzing: a list body of ~256 KiB claiming 2 M entries (one bit each) decodes "
           "into ~100 MiB (about 390 bytes per input byte: 8 MiB -> 3.1 GiB); framing owner fixes "
           "(the terminal's declared capacity, checked before decoding)",
)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("bundle_open", _run_open_bundle, bundle_seeds, (crypto.CryptoError,),
           tokens=(b"HCB\x01", b"\x00" * 8, b"\xff" * 8), max_input_bytes=1 << 14),
    Target("bundle_open_signed", _run_open_bundle, bundle_seeds, (crypto.CryptoError,),
           fixup=resign_bundle, tokens=(b"HCB\x01", b"\x00" * 8, b"\xff" * 8), max_input_bytes=1 << 14),
    Target("bundle_header", _run_bundle_header, bundle_seeds, (crypto.CryptoError,),
           tokens=(b"HCB\x01", b"\xff" * 8), max_input_bytes=1 << 14),
    Target("center_keys", _run_center_keys, functools.partial(key_file_seeds, "center"),
           (crypto.CryptoError,), fixup=recheck_key_file, tokens=(b"HCKF\x01\x01", b"HCKF\x01\x02")),
    Target("terminal_keys", _run_terminal_keys, functools.partial(key_file_seeds, "terminal"),
           (crypto.CryptoError,), fixup=recheck_key_file, tokens=(b"HCKF\x01\x01", b"HCKF\x01\x02")),
    Target("card_token", _run_check_token, token_seeds, (crypto.CryptoError,), max_input_bytes=512),
    Target("card_token_signed", _run_check_token, token_seeds, (crypto.CryptoError,),
           fixup=resign_token, max_input_bytes=512),
    Target("key_roll", _run_apply_key_roll, roll_seeds, (crypto.CryptoError,), max_input_bytes=512),
    Target("list_decode", _run_decode_list, functools.partial(list_seeds, "list"), (FramingError,),
           generate=functools.partial(dense_list, "list"), tokens=(b"HCL\x01\x01", *INT_TOKENS), max_input_bytes=320 << 10,
           known=(_LIST_MEMORY,)),
    Target("delta_decode", _run_decode_delta, functools.partial(list_seeds, "delta"), (FramingError,),
           generate=functools.partial(dense_list, "delta"), tokens=(b"HCL\x01\x02", *INT_TOKENS), max_input_bytes=320 << 10, known=(_LIST_MEMORY,)),
    Target("frame_header", _run_frame_header, frame_header_seeds, (FramingError,), max_input_bytes=64),
    Target("frame_sync", _run_frame_sync, _frame_sync_seeds, (FramingError,), max_input_bytes=4096,
           time_bound_s=2.0),
    Target("reassembly", _run_reassembly, reassembly_seeds, (FramingError,), generate=forged_blocks,
           fixup=consistent_k, max_input_bytes=1 << 16,
           time_bound_s=2.0, memory_bound_bytes=192 << 20, known=(_RAPTORQ_PANIC,)),
    Target("sigmf_meta", _run_sigmf, sigmf_seeds, (ModemError,), generate=sigmf_doc,
           tokens=(b"1e400", b"1" + b"0" * 400, b"NaN", b"-Infinity", b"[" * 3000, b'{"a":' * 200,
                   b'"core:sample_rate"', b'"core:datatype"', b'"ci16_le"', b"\\u0000", b"null", b"true",
                   b"\xff", b'"\\', b"\\\\"), max_input_bytes=1 << 16),
    Target("wav", _run_wav, wav_seeds, (ModemError,),
           tokens=(b"RIFF", b"RF64", b"WAVE", b"fmt ", b"data", b"ds64", b"LIST", b"\xfe\xff",
                   b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"), max_input_bytes=1 << 14),
    Target("raw_samples", _run_raw_samples, lambda: [Seed(bytes([i]) + bytes(range(64))) for i in range(6)],
           (ModemError,), max_input_bytes=4096),
    Target("hz_text", _run_hz_text, lambda: [Seed(s.encode()) for s in HZ_SEEDS], (ModemError,),
           generate=hz_text, tokens=(b"k", b"M", b"G", b"Hz", b"e400", b"e-9", b".", b"-", b" ", b"0" * 30),
           max_input_bytes=256),
    Target("ir_text", lambda data: None, lambda: [], (), skip="ir text parser lands with issue 9"),
    Target("csv_import", _run_csv, lambda: [Seed(CSV_SEED)], (CenterInputError,), generate=csv_lines,
           tokens=(b",", b"\n", b"\r\n", b'"', b"\xef\xbb\xbf", b"\x00", b"stolen", b"2027-05", b"9" * 20),
           max_input_bytes=1 << 16),
)}
