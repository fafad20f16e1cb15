"""Fuzz inputs for the parsers of files and text: SigMF metadata, WAV, rates, CSV imports,
`.ir` pulse text.

Seeds are valid documents (as hotcast and other tools write them); generators make hostile
ones: SigMF with huge or non-finite numbers, wrong types and deep nesting; rate text with
signs, exponents and suffixes; CSV rows with bad IDs, reasons and months.
"""

from __future__ import annotations

import functools
import json
import random
import struct

import numpy as np
from fuzz_engine import Field, Seed

from modem.formats import WAV_ENCODINGS, SigmfMeta, build_sigmf_meta, encode_wav
from modem.ir import IR, IrModulator
from modem.irtext import write_ir_text

@functools.cache
def sigmf_seeds() -> list[Seed]:
    seeds = [Seed(build_sigmf_meta(SigmfMeta(fmt, 1.2e6, 89.1e6, "seed",
                                             ({"core:sample_start": 0, "core:label": "x"},))).encode())
             for fmt in ("cu8", "cs8", "cs16", "cf32", "s16le", "f32le")]
    rich = {"global": {"core:datatype": "ci16_le", "core:sample_rate": 2400000, "core:version": "1.0.0",
                       "core:extensions": [{"name": "x", "version": "1", "optional": True}]},
            "captures": [{"core:sample_start": 0, "core:frequency": 89100000}, {"core:sample_start": 9}],
            "annotations": []}
    return seeds + [Seed(json.dumps(rich).encode())]


def sigmf_doc(rng: random.Random) -> bytes:
    """A SigMF-shaped document with hostile values: huge or non-finite numbers, wrong types,
    deep nesting (up to 5000 levels), as text the JSON encoder writes."""
    rate = rng.choice((1.2e6, 0, -1, 10**400, 10**20, 1e400, float("nan"), "1.2M", True, None, [1], 2**64))
    glob = {"core:datatype": rng.choice(("cu8", "ci16_le", "ci16_be", "ri24_le", 5, ["cu8"], {})),
            "core:sample_rate": rate}
    if rng.random() < 0.3:
        glob["core:num_channels"] = rng.choice((1, 2, 0, True, 10**30))
    doc = {"global": glob, "captures": [{"core:frequency": rng.choice((89.1e6, 10**400, -1, "x", None))}],
           "annotations": rng.choice(([], [{}], [1], {}, None))}
    nest = rng.choice((0, 1, 10, 63, 64, 65, 1000, 5000))
    if nest:
        doc["deep"] = "PLACE"
        text = json.dumps(doc).replace('"PLACE"', "[" * nest + "]" * nest)
    else:
        text = json.dumps(doc)
    return text.encode()


# Offsets in the classic 44-byte header (little-endian): RIFF size, fmt size, tag, channels,
# rate, byte rate, block align, bits, data size.
_WAV_FIELDS = tuple(Field(o, s, "little") for o, s in ((4, 4), (16, 4), (20, 2), (22, 2), (24, 4),
                                                       (28, 4), (32, 2), (34, 2), (40, 4)))


@functools.cache
def wav_seeds() -> list[Seed]:
    rng = np.random.default_rng(4)
    seeds = []
    for enc in WAV_ENCODINGS:
        for channels in (1, 2):
            x = rng.uniform(-1, 1, 21)
            if channels == 2:
                x = x + 1j * rng.uniform(-1, 1, 21)
            data = encode_wav(x, 48_000, enc)
            seeds.append(Seed(data, _WAV_FIELDS if enc != "f32" else ()))
    plain = encode_wav(rng.uniform(-1, 1, 8), 96_000, "s24")
    fmt = struct.pack("<HHIIHHHHIH", 0xFFFE, 1, 96_000, 288_000, 3, 24, 22, 24, 4, 1)
    fmt += bytes.fromhex("000000001000800000aa00389b71")
    ext = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", 3) + b"abc\0"
    ext += plain[36:]
    seeds.append(Seed(b"RIFF" + struct.pack("<I", len(ext) + 4) + b"WAVE" + ext))
    ds64 = b"ds64" + struct.pack("<IQQQI", 28, 0, 16, 0, 0)
    rf64 = b"RF64\xff\xff\xff\xffWAVE" + ds64 + plain[12:40] + b"\xff\xff\xff\xff" + plain[44:]
    return seeds + [Seed(rf64)]


HZ_SEEDS = ("228k", "1.2M", "2.048M", "192000", "89.1M", "48 kHz", "2.4e6", "1000000.026", ".5k")


def hz_text(rng: random.Random) -> bytes:
    parts = [rng.choice(("", "-", "+", " ")), rng.choice(("0", "1", "89", "1" + "0" * 40, "9" * 70)),
             rng.choice(("", ".", ".1", ".000001")), rng.choice(("", "e400", "e-400", "e5", "e99999", "E+3")),
             rng.choice(("", " ", "k", "M", "G", "m", "T")), rng.choice(("", "Hz", "hz", "Hzz"))]
    return "".join(parts).encode()


CSV_SEED = (b"card_id,reason,expires\n4929123412341234,stolen,2027-05\n5,lost,\n"
             b"\"6\",FRAUD,2030-12\n9999999999999999999,other\n")


def csv_lines(rng: random.Random) -> bytes:
    rows = []
    for _ in range(rng.randrange(1, 40)):
        card = rng.choice(("4929123412341234", "0", "9" * 19, "1" * 20, "18446744073709551616", "-1", "",
                           "\u0661\u0662", str(rng.randrange(10**19))))
        reason = rng.choice(("stolen", "LOST", "fraud", "other", "", "x", '"lost"'))
        expires = rng.choice(("", ",", ",2027-05", ",1999-12", ",7461-03", ",7461-04", ",2027-13", ",20270"))
        rows.append(f"{card},{reason}{expires}")
    sep = rng.choice(("\n", "\r\n", "\r"))
    return ("\ufeff" if rng.random() < 0.2 else "").encode() + sep.join(rows).encode()


@functools.cache
def ir_text_seeds() -> list[Seed]:
    """`.ir` text as ir-ctl and mode2 write it: a modulator's durations as ``pulse``/``space``
    lines (what the center writes), the one-line ``+N -N`` form, and a mode2 recording with
    its endless leading space, carrier line, timeouts and comments."""
    bits = np.random.default_rng(6).integers(0, 2, 400).astype(np.uint8)
    mod = IrModulator(IR)
    durations = np.concatenate((mod.process(bits), mod.flush()))
    lines = write_ir_text(durations[:300])
    one_line = " ".join(f"{'+' if v > 0 else '-'}{abs(v)}" for v in durations[:200].tolist()) + "\n"
    mode2 = ("# mode2 -d /dev/lirc0\nspace 16777215\ncarrier 38000\n" + write_ir_text(durations[:60])
             + "timeout 125000\npulse 560 # a comment\r\nspace 560\npulse 560")
    return [Seed(lines.encode()), Seed(one_line.encode()), Seed(mode2.encode())]


def ir_text_doc(rng: random.Random) -> bytes:
    """Hostile `.ir` text: huge, zero and negative durations, unknown words, mixed forms,
    CR line ends, a missing final newline, bytes that are not UTF-8."""
    out = []
    for _ in range(rng.randrange(1, 60)):
        word = rng.choice(("pulse", "space", "timeout", "PULSE", "carrier", "scancode", "frequency",
                           "+", "-", "", "pluse", "#"))
        value = rng.choice(("560", "1", "0", "-5", "16777215", "99999999999999999999", "1e3", " ",
                            "\xff", "\u0660", str(rng.randrange(1, 5000))))
        sep = "" if word in ("+", "-", "") else " "
        out.append(f"{word}{sep}{value}")
    text = rng.choice(("\n", "\r\n", " ")).join(out)
    if rng.random() < 0.5:
        text += "\n"
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.1:
        data += rng.randbytes(rng.randrange(1, 8))
    return data
