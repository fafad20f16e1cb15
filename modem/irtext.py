"""The `.ir` text format: what ``ir-ctl --receive`` and LIRC's ``mode2`` print, what
``ir-ctl --send`` plays.

Read (``IrTextDecoder``, streaming; ``parse_ir_text`` whole): one value per token, any mix of
- ``+N`` / ``-N`` tokens (ir-ctl's one-line form, several per line),
- ``pulse N`` / ``space N`` lines (ir-ctl's ``--mode2`` and LIRC's mode2),
- ``timeout N`` (a space: the receiver's silence timer fired) and ``carrier N`` /
  ``scancode ...`` lines (ignored), ``#`` comments and blank lines.
Unusable input raises ``IrTextError`` with the line number: a token that is not a number, a
negative or zero duration, an unknown keyword. Merely odd input is counted in ``IrTextStats``
and repaired: two pulses (or spaces) in a row are joined, an "endless" space (LIRC prints
16777215, 0xFFFFFF, when nothing was received) becomes a plain silence, leading spaces are
dropped. The output is int32 signed durations in us (+ mark, - space), strictly alternating;
a duration over 2^31 - 1 us is unusable. Chunks of nothing but plain ``pulse N`` / ``space N``
/ ``timeout N`` lines (what ``write_ir_text`` and ir-ctl write) are read in one vectorised
pass; anything else line by line, with the same result.

Write (``write_ir_text``): ``pulse N`` / ``space N`` lines only (Debian 12's ir-ctl 1.22
rejects ``+N -N``). ``ir_carousel_files`` cuts a durations stream into ir-ctl transmissions:
each at most 500 ms and 1023 values, each starting and ending with a pulse, cut before a sync
burst and closed with a terminator pulse where that sync starts, so a receiver sees whole
blocks in every file and does not care about the ~125 ms between files. Play them with

    for f in carousel-*.ir; do ir-ctl -d /dev/lirc0 --send="$f"; done

Invariant: the decoder's output depends only on the concatenated text, never on how it was cut
(a line split across chunks is carried over).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from .errors import ModemError
from .ir_config import IR, IrConfig

# ir-ctl's limits for one --send (kernel LIRC: 500 ms, 1023 values; FIELD-NOTES.md).
MAX_FILE_US = 500_000
MAX_FILE_VALUES = 1023
# LIRC's "nothing received" space (0xFFFFFF us) and anything this long is a silence, not data.
ENDLESS_US = 16_777_215
MAX_DURATION_US = 2**31 - 1  # what an int32 duration holds (over half an hour)
_SILENCE_US = 1_000_000  # what an endless space becomes: longer than any gap the demodulator needs
_TOKEN = re.compile(r"[+-]\d+")


class IrTextError(ModemError):
    """A line of `.ir` text that cannot be read (the message names the line)."""


@dataclass(frozen=True)
class IrTextStats:
    lines: int = 0
    values: int = 0
    joined: int = 0  # two pulses or two spaces in a row, joined
    endless_spaces: int = 0
    timeouts: int = 0
    dropped_leading_spaces: int = 0
    ignored_lines: int = 0  # carrier, scancode, ... lines


class IrTextDecoder:
    """Streaming `.ir` text -> int32 signed durations. ``process(text)`` / ``flush()``."""

    def __init__(self) -> None:
        self.reset()

    def __repr__(self) -> str:
        return "IrTextDecoder()"

    def reset(self) -> None:
        self._partial = ""
        self._line = 0
        self._sign = 0  # sign of the value held back (it may continue), 0 = none yet
        self._held = 0
        self.stats = IrTextStats()

    def process(self, text: str) -> np.ndarray:
        data = self._partial + text
        cut = data.rfind("\n")
        if cut < 0:
            self._partial = data
            return np.zeros(0, dtype=np.int32)
        self._partial = data[cut + 1 :]
        block = data[: cut + 1]
        fast = _plain_values(block)
        if fast is None:
            return self._lines(block.split("\n")[:-1])
        st = dict(dataclasses.asdict(self.stats))
        self._line += len(fast)
        st["lines"] = self._line
        st["timeouts"] += block.count("timeout ")
        return self._merge(fast, st)

    def flush(self) -> np.ndarray:
        """The last line (no newline) and the value held back; then resets (stats kept)."""
        out = self._lines([self._partial]) if self._partial.strip() else np.zeros(0, dtype=np.int32)
        if self._sign:
            out = np.concatenate((out, [self._sign * self._held])).astype(np.int32)
        stats = self.stats
        self.reset()
        self.stats = stats
        return out.astype(np.int32)

    def _lines(self, lines: list[str]) -> np.ndarray:
        values: list[int] = []
        st = dict(dataclasses.asdict(self.stats))
        for raw in lines:
            self._line += 1
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            head = line.split(None, 1)
            word = head[0].lower()
            if word in ("pulse", "space", "timeout"):
                if len(head) != 2 or not head[1].strip().isdigit():
                    raise IrTextError(f"line {self._line}: {word!r} needs one positive integer, got {raw.strip()!r}")
                n = int(head[1])
                if n <= 0 or n > MAX_DURATION_US:
                    raise IrTextError(f"line {self._line}: {_bad_duration(n, str(n))}")
                if word == "timeout":
                    st["timeouts"] += 1
                values.append(n if word == "pulse" else -n)
            elif word in ("carrier", "scancode", "frequency", "duty_cycle"):
                st["ignored_lines"] += 1
            else:
                tokens = line.split()
                for tok in tokens:
                    if not _TOKEN.fullmatch(tok):
                        raise IrTextError(f"line {self._line}: cannot read {tok!r} (want +N, -N, pulse N or space N)")
                    n = int(tok[1:])
                    if n <= 0 or n > MAX_DURATION_US:
                        raise IrTextError(f"line {self._line}: {_bad_duration(n, tok)}")
                    values.append(n if tok[0] == "+" else -n)
        st["lines"] = self._line
        return self._merge(np.array(values, dtype=np.int64), st)

    def _merge(self, values: np.ndarray, st: dict) -> np.ndarray:
        """Signed values, in order -> the finished alternating durations (the last one is held
        back: it may continue). Updates and stores the stats ``st``."""
        v = values.copy()
        endless = (v < 0) & (-v >= ENDLESS_US)
        st["endless_spaces"] += int(np.count_nonzero(endless))
        v[endless] = -_SILENCE_US
        if self._sign == 0:  # a recording starts with the silence before the first pulse
            pulses = np.flatnonzero(v > 0)
            lead = int(pulses[0]) if len(pulses) else len(v)
            st["dropped_leading_spaces"] += lead
            v = v[lead:]
        else:
            v = np.concatenate(([self._sign * self._held], v))
        out = np.zeros(0, dtype=np.int32)
        if len(v):
            sign = np.sign(v)
            starts = np.flatnonzero(np.concatenate(([True], sign[1:] != sign[:-1])))
            sums = np.add.reduceat(np.abs(v), starts)
            runs = np.diff(np.append(starts, len(v)))
            st["joined"] += len(v) - len(starts)
            signs = sign[starts]
            # Joined spaces stop at a silence's length; a lone space is kept as it is.
            sums = np.where((signs < 0) & (runs > 1), np.minimum(sums, _SILENCE_US), sums)
            sums = np.minimum(sums, MAX_DURATION_US)  # joined pulses: still an int32
            self._sign, self._held = int(signs[-1]), int(sums[-1])
            out = (signs[:-1] * sums[:-1]).astype(np.int32)
        st["values"] += len(out)
        self.stats = IrTextStats(**st)
        return out


def _bad_duration(n: int, token: str) -> str:
    if n <= 0:
        return f"duration must be > 0, got {token}"
    return f"duration must be at most {MAX_DURATION_US} us (an int32), got {token}"


def _plain_values(block: str) -> np.ndarray | None:
    """Whole lines of the plain form ``pulse N`` / ``space N`` / ``timeout N`` (N > 0, nothing
    else on any line) -> their signed values, read in one pass; None for anything else (the
    line-by-line reader then reads it and names what is wrong)."""
    lines = block.count("\n")
    if "-" in block or lines != block.count("pulse ") + block.count("space ") + block.count("timeout "):
        return None
    signed = block.replace("pulse ", "").replace("space ", "-").replace("timeout ", "-")
    if signed.startswith("\n") or "\n\n" in signed or "-\n" in signed or "--" in signed:
        return None
    if signed.encode("ascii", "replace").translate(None, b"0123456789-\n"):
        return None
    values = np.fromstring(signed, dtype=np.int64, sep="\n") if lines else np.zeros(0, dtype=np.int64)
    if len(values) != lines or not np.all(values) or np.any(np.abs(values) > MAX_DURATION_US):
        return None
    return values


def parse_ir_text(text: str) -> tuple[np.ndarray, IrTextStats]:
    """Whole `.ir` text -> (int32 durations, stats). Raises IrTextError on unusable lines."""
    dec = IrTextDecoder()
    out = np.concatenate((dec.process(text), dec.flush())).astype(np.int32)
    return out, dec.stats


def write_ir_text(durations: np.ndarray) -> str:
    """Signed durations (alternating, starting with a pulse) -> ``pulse N`` / ``space N`` text."""
    d = np.asarray(durations, dtype=np.int64)
    if d.size and (np.any(d == 0) or np.any(np.sign(d[1:]) == np.sign(d[:-1]))):
        raise ValueError("durations must be non-zero and alternate between pulses and spaces")
    return "".join(f"pulse {v}\n" if v > 0 else f"space {-v}\n" for v in d.tolist())


def ir_carousel_files(durations: np.ndarray, config: IrConfig = IR) -> list[str]:
    """A modulator's durations (whole blocks, ending with a pulse) -> `.ir` texts, each one
    ir-ctl transmission (<= 500 ms, <= 1023 values, pulse first and last), cut at sync bursts."""
    d = np.asarray(durations, dtype=np.int64)
    if d.size == 0:
        return []
    if d[0] <= 0:
        raise ValueError("durations must start with a pulse")
    t = np.concatenate(([0], np.cumsum(np.abs(d))))
    syncs = np.flatnonzero(d == config.sync_mark_us)  # value indices where blocks start
    cuts = list(syncs) + [len(d) + (1 if d[-1] < 0 else 0)]
    files = []
    start = 0
    for i, cut in enumerate(cuts[1:], 1):
        # Would the file from start to this cut, plus a terminator, still fit?
        nxt = cuts[i + 1] if i + 1 < len(cuts) else None
        if nxt is None:
            files.append(_close(d[start:], config))
            break
        span_us = t[min(nxt, len(d))] - t[start] + config.mark_us
        values = min(nxt, len(d)) - start + 1
        if span_us > MAX_FILE_US or values > MAX_FILE_VALUES:
            files.append(_close(d[start:cut], config))
            start = cut
    return [write_ir_text(f) for f in files]


def _close(d: np.ndarray, config: IrConfig) -> np.ndarray:
    """End a transmission with a pulse: a terminator where the next sync would start."""
    if d[-1] > 0:
        return d
    return np.concatenate((d, [config.mark_us]))
