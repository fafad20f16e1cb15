"""Lossy audio codec round trips through the ``ffmpeg`` command, for tests and benches.

This is the one place in ``modem/`` that runs a subprocess. It exists because no numpy model of
MP3 or Opus is faithful enough to prove a modem survives them: the real encoders' psychoacoustic
choices (band limits, noise filling, SILK/CELT mode switches) are what break audio modems.
Two ``ffmpeg`` runs, one encoding and one decoding, talk over pipes (float32 samples on stdin,
the compressed stream on stdout, then back): no temporary files, no shell.

- MP3: ``libmp3lame`` at a constant ``bitrate_kbps`` into a raw MP3 stream. The decoder output
  starts with the encoder delay (LAME's 576 + 529 samples, a raw stream carries no gapless
  header to remove it).
- Opus: ``libopus`` at ``bitrate_kbps`` (VBR, application ``audio`` unless told otherwise) into
  Ogg; Ogg's pre-skip removes the encoder delay on decoding.

Both return float32 mono at the input rate; the length may differ from the input by the codec's
frame padding and delay. ``CodecUnavailableError`` says ffmpeg (or the encoder) is missing, so a
test can skip with that reason.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from .errors import ModemError

# Rates the two encoders accept for mono input (Opus codes internally at 48 kHz and resamples;
# LAME takes the MPEG-1/2/2.5 rates).
_OPUS_RATES_HZ = (8_000, 12_000, 16_000, 24_000, 48_000)
_MP3_RATES_HZ = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
# A round trip of a minute of audio takes about a second; anything slower is a hung encoder.
_TIMEOUT_S = 300.0


class CodecUnavailableError(ModemError):
    """The ``ffmpeg`` command, or the encoder asked for, is not installed."""


class CodecError(ModemError):
    """ffmpeg ran but failed (its stderr tail is in the message)."""


@dataclass(frozen=True)
class CodecConfig:
    """One codec setting: ``codec`` "mp3" or "opus", ``bitrate_kbps``, Opus ``application``."""

    codec: str
    bitrate_kbps: int
    application: str = "audio"

    def __post_init__(self) -> None:
        if self.codec not in ("mp3", "opus"):
            raise ValueError(f"codec must be 'mp3' or 'opus', got {self.codec!r}")
        if not 6 <= self.bitrate_kbps <= 320:
            raise ValueError(f"bitrate_kbps must be in [6, 320], got {self.bitrate_kbps}")
        if self.application not in ("audio", "voip", "lowdelay"):
            raise ValueError(f"application must be audio, voip or lowdelay, got {self.application!r}")


MP3_128 = CodecConfig("mp3", 128)
OPUS_24 = CodecConfig("opus", 24)


def ffmpeg_path() -> str | None:
    """Path of the ffmpeg command, or None (tests skip on None)."""
    return shutil.which("ffmpeg")


def round_trip(samples: np.ndarray, sample_rate_hz: int, config: CodecConfig) -> np.ndarray:
    """float32 mono (n,) -> encode -> decode -> float32 mono (~n,) at ``sample_rate_hz``.

    Samples beyond +-1 are clipped by the encoders (as a sound card would).
    """
    exe = ffmpeg_path()
    if exe is None:
        raise CodecUnavailableError("ffmpeg is not installed (apt-get install ffmpeg)")
    rates = _MP3_RATES_HZ if config.codec == "mp3" else _OPUS_RATES_HZ
    if sample_rate_hz not in rates:
        raise ValueError(f"{config.codec} takes sample rates {rates}, got {sample_rate_hz}")
    x = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    raw_in = ["-f", "f32le", "-ar", str(sample_rate_hz), "-ac", "1"]
    if config.codec == "mp3":
        enc = ["-c:a", "libmp3lame", "-b:a", f"{config.bitrate_kbps}k", "-f", "mp3"]
    else:
        enc = ["-c:a", "libopus", "-b:a", f"{config.bitrate_kbps}k",
               "-application", config.application, "-f", "ogg"]
    encoded = _run([exe, "-hide_banner", "-nostdin", "-loglevel", "error", *raw_in, "-i", "pipe:0",
                    *enc, "pipe:1"], x.tobytes())
    decoded = _run([exe, "-hide_banner", "-nostdin", "-loglevel", "error",
                    "-f", "mp3" if config.codec == "mp3" else "ogg", "-i", "pipe:0",
                    *raw_in, "pipe:1"], encoded)
    return np.frombuffer(decoded, dtype=np.float32).copy()


def _run(argv: list[str], data: bytes) -> bytes:
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:  # removed between which() and run()
        raise CodecUnavailableError(f"cannot run {argv[0]}: {exc}") from exc
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-400:]
        if "Unknown encoder" in tail or "Encoder not found" in tail:
            raise CodecUnavailableError(f"ffmpeg lacks the encoder: {tail}")
        raise CodecError(f"ffmpeg exited {done.returncode}: {tail}")
    return done.stdout
