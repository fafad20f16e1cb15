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
from fuzz_engine import Seed, Target
from inputs_crypto import (
    CARD, PASSPHRASE, center_key_file_seeds, center_payload_seeds, keyset_seeds, master_roll_seeds,
    recheck_key_file, resign_bundle, resign_keyset, resign_token, roll_header, seal_center_payload,
    terminal_key_file_seeds, terminal_keys, token_seeds, trust,
)
from inputs_crypto import bundle_seeds
from inputs_files import CSV_SEED, HZ_SEEDS, csv_lines, hz_text, ir_text_doc, ir_text_seeds, sigmf_doc, sigmf_seeds, wav_seeds
from inputs_framing import (
    FRAME_SYNC_MAX_LLRS, FRAME_SYNC_PROFILES, INT_TOKENS, announcement_seeds, blocks_of, consistent_k, dense_list,
    forged_blocks, frame_header_seeds, frame_sync_llr_seeds, list_seeds, reassembly_seeds,
    split_announcement,
)

import crypto
from center.errors import CenterInputError
from center.registry.csvimport import decode_csv_bytes, parse_csv
from center.registry.home import DEFAULT_UNIVERSE
from framing import (
    PROFILES as FRAME_PROFILES,
    FrameHeader,
    FramingError,
    FrameSync,
    Reassembler,
    check_header,
    decode_announcement,
    decode_delta,
    decode_list,
)
from framing.frameformat import MAX_SOURCE_BLOCKS
from modem.errors import ModemError
from modem.formats import BYTES_PER_SAMPLE, SampleDecoder, WavDecoder, decode_samples, decode_wav, parse_sigmf_meta
from modem.irtext import parse_ir_text
from modem.rates import MAX_HZ, MIN_HZ, format_hz, parse_hz
from receiver.radio._device_base import IrTextBytesDecoder
from receiver.store.state import DEFAULT_CAPACITY
from tests.simcenter import NOW

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
    crypto.open_bundle(data, trust(), NOW)


def _run_bundle_header(data: bytes) -> None:
    crypto.read_unverified_header(data)


def _run_center_key_file(data: bytes) -> None:
    crypto.CenterKeys.from_file(data, PASSPHRASE)


def _run_center_keys(data: bytes) -> None:
    """The payload parser behind the passphrase: ``data`` sealed as the center would seal it."""
    crypto.CenterKeys.from_file(seal_center_payload(data), PASSPHRASE)


def _run_terminal_keys(data: bytes) -> None:
    """A key file that parses writes back to the same bytes (``to_file`` / ``from_file``)."""
    keys = crypto.TerminalKeys.from_file(data)
    assert keys.to_file() == data, "a terminal key file does not write back as it was read"


def _run_check_token(data: bytes) -> None:
    crypto.check_token(data, CARD, NOW, trust().keyset)


def _run_master_roll(data: bytes) -> None:
    """A MASTER_ROLL body, as if it had opened under the center's keys (a roll signed with a
    stolen signing key and sealed under the current master key)."""
    opened = crypto.OpenedBundle(roll_header(), data, bytes(crypto.DIGEST_BYTES))
    rolled = crypto.apply_master_roll(opened, terminal_keys())
    assert rolled.keyset == terminal_keys().keyset


def _run_keyset(data: bytes) -> None:
    """A key set from the air, against a terminal with no set yet and one holding the current."""
    keys = terminal_keys()
    crypto.read_unverified_keyset(data)
    crypto.verify_keyset(data, keys.root_set, None, NOW)
    crypto.verify_keyset(data, keys.root_set, keys.keyset, NOW)


def _run_announcement(data: bytes) -> None:
    entries = decode_announcement(data)
    assert 1 <= len(entries) and list(entries) == sorted(set(entries)), entries


def _run_decode_list(data: bytes) -> None:
    decode_list(data, max_entries=DEFAULT_CAPACITY)


def _run_decode_delta(data: bytes) -> None:
    decode_delta(data, max_entries=DEFAULT_CAPACITY)


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
    """An optional announcement body first (refused ones are skipped, as the pipeline skips
    announcements that do not verify), then block records; the stage never raises on them."""
    announcement, rest = split_announcement(data)
    reasm = Reassembler()
    if announcement is not None:
        try:
            reasm.announce(decode_announcement(announcement))
        except FramingError:
            pass
    reasm.process(blocks_of(rest))


def _frame_sync_seeds() -> list[Seed]:
    _frame_syncs(FRAME_SYNC_PROFILES[0])  # built here, not inside the first timed input
    return frame_sync_llr_seeds()


@functools.cache
def _frame_syncs(profile: str) -> tuple[FrameSync, FrameSync]:
    """Two synchronisers per profile, built once and reset per input."""
    cfg = FRAME_PROFILES[profile]
    return FrameSync(cfg), FrameSync(cfg)


def _frame_key(frames) -> list[tuple]:
    return [(f.start_bit, f.rotation, f.corrected, f.iterations, f.block) for f in frames]


def _run_frame_sync(data: bytes) -> None:
    """First byte: the profile; the rest int8 LLRs (as a soft demodulator hands them over).
    The whole stream and the same stream cut into pieces must give the same frames and
    statistics (FrameSync's chunk invariance)."""
    if not data:
        return
    whole, cut = _frame_syncs(FRAME_SYNC_PROFILES[data[0] % len(FRAME_SYNC_PROFILES)])
    llr = data[1:]
    whole.reset()
    cut.reset()
    frames = whole.process(np.frombuffer(llr, np.int8).astype(np.float32))
    pieces = []
    for piece in _pieces(llr):
        pieces += cut.process(np.frombuffer(piece, np.int8).astype(np.float32))
    assert _frame_key(pieces) == _frame_key(frames), "frames depend on how the LLRs were cut"
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
    parse_csv(decode_csv_bytes(data), DEFAULT_UNIVERSE, NOW)


def _run_ir_text(data: bytes) -> None:
    """The receiver's `.ir` reader (bytes -> durations, streaming) whole and cut into pieces
    gives what the modem's whole-text parser gives: the same durations, or an error."""
    try:
        expected, _ = parse_ir_text(data.decode("utf-8", "replace"))
    except ModemError:
        expected = None
    outputs = []
    for pieces in ([data], _pieces(data)):
        dec = IrTextBytesDecoder()
        try:
            got = [dec.process(p) for p in pieces] + [dec.flush()]
        except ModemError:
            outputs.append(None)
            continue
        out = np.concatenate(got)
        assert out.dtype == np.int32 and np.all(out != 0) and np.all(np.sign(out[1:]) != np.sign(out[:-1]))
        outputs.append(out.tobytes())
    assert outputs[0] == outputs[1], "`.ir` durations depend on how the bytes were cut"
    if expected is not None:
        assert outputs[0] == expected.tobytes(), "the reader disagrees with parse_ir_text"


# -- the table --------------------------------------------------------------------------------


_BUNDLE_TOKENS = (b"HCB\x02", b"\x00" * 8, b"\xff" * 8, b"\x7f" + b"\xff" * 7)
_KEY_FILE_TOKENS = (b"HCKF\x02\x01", b"HCKF\x02\x02", b"HCKF\x01\x02", b"\x01\x0a\x08\x01")
_META_TOKENS = (b"HCM\x01\x05", b"HCM\x01\x06", b"\x00\x00\x20\x00", b"\xff" * 8)

TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("bundle_open", _run_open_bundle, bundle_seeds, (crypto.CryptoError,),
           tokens=_BUNDLE_TOKENS, max_input_bytes=1 << 14),
    Target("bundle_open_signed", _run_open_bundle, bundle_seeds, (crypto.CryptoError,),
           fixup=resign_bundle, tokens=_BUNDLE_TOKENS, max_input_bytes=1 << 14),
    Target("bundle_header", _run_bundle_header, bundle_seeds, (crypto.CryptoError,),
           tokens=_BUNDLE_TOKENS, max_input_bytes=1 << 14),
    # scrypt's work is bounded by the reader at 2**23 (~2 s on the reference machine): a
    # mutated cost byte may ask for that much, which is the documented worst case.
    Target("center_key_file", _run_center_key_file, center_key_file_seeds, (crypto.CryptoError,),
           tokens=_KEY_FILE_TOKENS, max_input_bytes=1 << 12, time_bound_s=4.0),
    Target("center_keys", _run_center_keys, center_payload_seeds, (crypto.CryptoError,),
           max_input_bytes=1 << 12),
    Target("terminal_keys", _run_terminal_keys, terminal_key_file_seeds, (crypto.CryptoError,),
           fixup=recheck_key_file, tokens=_KEY_FILE_TOKENS, max_input_bytes=1 << 14),
    Target("card_token", _run_check_token, token_seeds, (crypto.CryptoError,), max_input_bytes=512),
    Target("card_token_signed", _run_check_token, token_seeds, (crypto.CryptoError,),
           fixup=resign_token, max_input_bytes=512),
    Target("master_roll", _run_master_roll, master_roll_seeds, (crypto.CryptoError,), max_input_bytes=512),
    Target("keyset", _run_keyset, keyset_seeds, (crypto.CryptoError,), fixup=resign_keyset,
           tokens=_META_TOKENS, max_input_bytes=1 << 14),
    Target("announcement", _run_announcement, announcement_seeds, (FramingError,),
           tokens=(b"HCA\x01", b"\x40", b"\x41", b"\xff" * 4), max_input_bytes=1 << 12),
    Target("list_decode", _run_decode_list, functools.partial(list_seeds, "list"), (FramingError,),
           generate=functools.partial(dense_list, "list"), tokens=(b"HCL\x01\x01", *INT_TOKENS),
           max_input_bytes=320 << 10),
    Target("delta_decode", _run_decode_delta, functools.partial(list_seeds, "delta"), (FramingError,),
           generate=functools.partial(dense_list, "delta"), tokens=(b"HCL\x01\x02", *INT_TOKENS),
           max_input_bytes=320 << 10),
    Target("frame_header", _run_frame_header, frame_header_seeds, (FramingError,), max_input_bytes=64),
    # The LDPC decoder is bounded by max_iterations per codeword.
    Target("frame_sync", _run_frame_sync, _frame_sync_seeds, (FramingError,),
           max_input_bytes=FRAME_SYNC_MAX_LLRS + 1, time_bound_s=2.0),
    Target("reassembly", _run_reassembly, reassembly_seeds, (FramingError,), generate=forged_blocks,
           fixup=consistent_k, max_input_bytes=1 << 16,
           time_bound_s=2.0, memory_bound_bytes=192 << 20),
    Target("sigmf_meta", _run_sigmf, sigmf_seeds, (ModemError,), generate=sigmf_doc,
           tokens=(b"1e400", b"1" + b"0" * 400, b"NaN", b"-Infinity", b"[" * 3000, b'{"a":' * 200,
                   b'"core:sample_rate"', b'"core:datatype"', b'"ci16_le"', b"\\u0000", b"null", b"true",
                   b"\xff", b'"\\', b"\\\\"), max_input_bytes=1 << 16),
    Target("wav", _run_wav, wav_seeds, (ModemError,),
           tokens=(b"RIFF", b"RF64", b"WAVE", b"fmt ", b"data", b"ds64", b"LIST", b"\xfe\xff",
                   b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"), max_input_bytes=1 << 14),
    Target("raw_samples", _run_raw_samples,
           lambda: [Seed(bytes([i]) + bytes(range(64))) for i in range(len(_RAW_FORMATS))],
           (ModemError,), max_input_bytes=4096),
    Target("hz_text", _run_hz_text, lambda: [Seed(s.encode()) for s in HZ_SEEDS], (ModemError,),
           generate=hz_text, tokens=(b"k", b"M", b"G", b"Hz", b"e400", b"e-9", b".", b"-", b" ", b"0" * 30),
           max_input_bytes=256),
    Target("ir_text", _run_ir_text, ir_text_seeds, (ModemError,), generate=ir_text_doc,
           tokens=(b"pulse ", b"space ", b"timeout ", b"carrier 38000\n", b"+", b"-", b"\n", b"\r\n",
                   b"#", b"16777215", b"0", b"9" * 30, b"\xc3", b"\xe2\x80"), max_input_bytes=1 << 14),
    Target("csv_import", _run_csv, lambda: [Seed(CSV_SEED)], (CenterInputError,), generate=csv_lines,
           tokens=(b",", b"\n", b"\r\n", b'"', b"\xef\xbb\xbf", b"\x00", b"stolen", b"2027-05", b"9" * 20),
           max_input_bytes=1 << 16),
)}
