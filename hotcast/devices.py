"""``hotcast devices``: list the RTL-SDR dongles and sound cards this machine has.

One JSON line per device (``{"kind": "rtl_sdr", "index", "name", ...}`` or ``{"kind":
"sound_card", "index", "name", "inputs", "outputs", "default_rate_hz"}``), or a table on a
terminal; a line on stderr says clearly when there are none, or when the support library
(librtlsdr, PortAudio) is missing, and what to install. Exit 0 either way: an empty list is an
answer. Test seam: ``LISTERS`` maps each kind to its listing function.
"""

from __future__ import annotations

import argparse
import sys

from receiver.errors import SourceError
from receiver.radio._device_linein import list_sound_cards
from receiver.radio._device_rtlsdr import list_rtlsdr

LISTERS = {"rtl_sdr": list_rtlsdr, "sound_card": list_sound_cards}
_WHAT = {"rtl_sdr": "RTL-SDR dongle", "sound_card": "sound card"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", action=argparse.BooleanOptionalAction, default=None,
                        help="a table for people (default on a terminal) or JSON lines")


def run(args: argparse.Namespace, ctx) -> int:
    found: list[dict] = []
    for kind, lister in LISTERS.items():
        try:
            devices = lister()
        except SourceError as exc:
            ctx.warn(f"cannot list {_WHAT[kind]}s: {exc}")
            continue
        if not devices:
            ctx.warn(f"no {_WHAT[kind]} found")
        found += [{"kind": kind, **d} for d in devices]
    table = args.table if args.table is not None else sys.stdout.isatty()
    if not table:
        ctx.emit_many(found)
        return 0
    for d in found:
        extra = (f"{d['inputs']} in / {d['outputs']} out, {d['default_rate_hz']:g} Hz"
                 if d["kind"] == "sound_card" else f"{d['manufacturer']} {d['product']} "
                 f"serial {d['serial']}")
        ctx.out.write_text(f"{_WHAT[d['kind']]:<15} #{d['index']:<3} {d['name']:<40} {extra}\n")
    return 0
