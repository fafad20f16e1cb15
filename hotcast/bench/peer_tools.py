"""Other decoders set beside ours: make a signal with each one's own generator, decode it with
its decoder as a child process, and count the payload it recovered. Parsers are pure functions
of the decoder's text output (tested on recorded outputs).

- direwolf: ``gen_packets`` writes AX.25 UI frames as AFSK 1200 (Bell 202 tones) to a WAV;
  ``atest`` decodes it. A packet's payload is its information field.
- multimon-ng: decodes the same gen_packets signal, converted by us (no resampling: gen_packets
  writes at 22 050 Hz, multimon-ng's raw rate) to raw s16le.
- minimodem: ``minimodem --tx 1200`` writes lines of text as Bell 202 FSK (8-N-1 framing) to a
  WAV; ``minimodem --rx 1200`` decodes it. Its payload is the text of the lines decoded whole.

CPU time is the child's own (user + system, from ``os.wait4``), so it holds on any machine and
leaves out our parsing. Each message carries its number, so what came back is matched to what
was sent, and nothing counts twice.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AFSK_RATE_HZ = 22_050  # multimon-ng's raw input rate; gen_packets writes it when asked
FILLER = "0123456789abcdefghijklmnopqrstuvwxyz"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ESCAPE = re.compile(r"<0x([0-9a-fA-F]{2})>")
_ATEST_LINE = re.compile(r"^\[\d+(?:\.\d+)?\]\s+[^>\s]+>[^:]*:(.*)$")
_MULTIMON_HEAD = re.compile(r"^AFSK1200:\s+fm\s+\S+\s+to\s+\S+")
_TAG = re.compile(r"hotcast (?:pkt|line) (\d{5})")
# What to install where a peer is missing (Debian package names).
PACKAGES = {"direwolf": "direwolf", "multimon-ng": "multimon-ng", "minimodem": "minimodem"}


class PeerError(RuntimeError):
    """A peer's generator or decoder failed or timed out (its stderr tail is in the message)."""


@dataclass(frozen=True)
class ChildRun:
    stdout: str
    cpu_s: float  # user + system time of the child (and its children)
    returncode: int


def run_child(argv: list[str], timeout_s: float = 600.0, env: dict | None = None,
              stdin_path: Path | None = None) -> ChildRun:
    """Run ``argv``, collect its stdout, and its CPU time from ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=stdin, env=env)
        finally:
            if stdin_path:
                stdin.close()
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", errors="replace")
        if proc.returncode < 0:
            raise PeerError(f"{argv[0]} was stopped (signal {-proc.returncode}) after "
                            f"{timeout_s:.0f} s or by a crash")
        return ChildRun(text, usage.ru_utime + usage.ru_stime, proc.returncode)


def installed(tool: str) -> bool:
    return shutil.which(tool) is not None


def ax25_messages(count: int, tag: str = "pkt") -> list[str]:
    """Information fields of ``count`` APRS status packets, numbered: 62 bytes each."""
    return [f">hotcast {tag} {i:05d} {FILLER}" for i in range(count)]


def text_lines(count: int) -> list[str]:
    return [f"hotcast line {i:05d} {FILLER}" for i in range(count)]


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_atest(text: str) -> list[str]:
    """Information fields of the frames ``atest`` printed (``[0] SRC>DST,PATH:info``), with its
    ``<0xNN>`` escapes turned back into characters."""
    found = []
    for line in strip_ansi(text).splitlines():
        m = _ATEST_LINE.match(line.strip())
        if m:
            found.append(_ESCAPE.sub(lambda e: chr(int(e.group(1), 16)), m.group(1)))
    return found


def parse_multimon(text: str) -> list[str]:
    """Information fields of the AFSK1200 frames multimon-ng printed: a header line
    (``AFSK1200: fm SRC to DST ...``) followed by the information as text."""
    lines = text.splitlines()
    return [lines[i + 1] for i, line in enumerate(lines[:-1]) if _MULTIMON_HEAD.match(line)]


def recovered(found: list[str], sent: list[str]) -> set[int]:
    """Indices of sent messages that came back whole (a decoder may print a trailing newline
    or CR of the payload as ``.`` or as the character itself: a trailing one is ignored)."""
    got = set()
    for f in found:
        m = _TAG.search(f)
        if not m:
            continue
        i = int(m.group(1))
        if i < len(sent) and f.rstrip("\r\n.") == sent[i]:
            got.add(i)
    return got


def gen_packets(messages: list[str], path: Path, baud: int = 1200) -> None:
    """direwolf's generator: AX.25 UI frames carrying ``messages`` -> WAV at AFSK_RATE_HZ."""
    src = path.with_suffix(".txt")
    src.write_text("".join(f"N0CALL-1>APRS,WIDE1-1:{m}\n" for m in messages))
    done = subprocess.run(["gen_packets", "-r", str(AFSK_RATE_HZ), "-B", str(baud), "-o",
                           str(path), str(src)], capture_output=True, timeout=600)
    if done.returncode != 0 or not path.exists():
        raise PeerError(f"gen_packets failed: {strip_ansi(done.stderr.decode())[-300:]}")


def minimodem_tx(lines: list[str], path: Path, mode: str = "1200",
                 rate_hz: int = 48_000) -> None:
    src = path.with_suffix(".txt")
    src.write_text("".join(line + "\n" for line in lines))
    with open(src, "rb") as stdin:
        done = subprocess.run(["minimodem", "--tx", mode, "-f", str(path), "-R", str(rate_hz)],
                              stdin=stdin, capture_output=True, timeout=600)
    if done.returncode != 0 or not path.exists():
        raise PeerError(f"minimodem --tx failed: {done.stderr.decode()[-300:]}")


def read_wav_mono(path: Path) -> tuple[np.ndarray, int]:
    """(float32 samples in [-1, 1), rate) of a 16-bit mono WAV."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise PeerError(f"{path}: expected 16-bit mono, got {w.getsampwidth() * 8}-bit "
                            f"x {w.getnchannels()}")
        raw = w.readframes(w.getnframes())
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0, w.getframerate()


def write_wav_mono(path: Path, x: np.ndarray, rate_hz: int) -> None:
    pcm = np.clip(np.round(np.asarray(x) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())


def write_raw_s16le(path: Path, x: np.ndarray) -> None:
    np.clip(np.round(np.asarray(x) * 32767.0), -32768, 32767).astype("<i2").tofile(path)
