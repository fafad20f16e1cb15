"""What ``hotcast plot`` reads and draws: a capture's spectrum and constellation, a decode log's
quality over time.

A capture is read as ``receiver decode`` reads it (``receiver.radio.sources``), at most
``seconds`` of it; an FM I/Q capture is first FM-demodulated to its MPX (the profile's baseband)
by the profile's own receive chain front end. The constellation is the demodulator's decision
points (``last_symbols`` of the profile's demodulator) over the analysed stretch. A log is the
JSON lines ``receiver decode`` printed; its ``quality`` events give SNR, BER, CNR and frame
counts against seconds of signal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import signal as sps

from hotcast import plots
from hotcast.runner import InputError
from modem import InputKind, RxChain, modem_profile
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig
from modem.mpxsim import mpx_spectrum
from receiver.errors import SourceError
from receiver.radio.sources import open_source

# A decode log longer than this many lines is not one we draw whole (a year of quality events
# at one per 10 s is 3.2 M lines).
MAX_LOG_LINES = 5_000_000


def _read_capture(path: str, fmt: str | None, rate: float | None,
                  seconds: float) -> tuple[np.ndarray, float, bool]:
    try:
        source = open_source(path, fmt, rate)
    except SourceError as exc:
        raise InputError(str(exc)) from None
    with source:
        want = int(seconds * source.sample_rate_hz)
        parts, have = [], 0
        for block in source:
            parts.append(block[:want - have])
            have += parts[-1].size
            if have >= want:
                break
    if not parts:
        raise InputError(f"{path}: the capture holds no samples")
    return np.concatenate(parts), float(source.sample_rate_hz), source.is_iq


def from_capture(path: str, fmt: str | None, rate: float | None, profile: str,
                 seconds: float, out: Path) -> list[Path]:
    """Spectrum (and constellation, when the demodulator gives its symbols) PNGs of a capture."""
    try:
        entry = modem_profile(profile)
    except ValueError as exc:
        raise InputError(f"--profile: {exc}") from None
    x, rate_hz, is_iq = _read_capture(path, fmt, rate, seconds)
    kind = InputKind.IQ if is_iq else InputKind.BASEBAND
    try:
        entry.check_rate(kind, rate_hz)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    if is_iq:
        front = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=round(rate_hz)))
        baseband = np.concatenate((front.process(x), front.flush()))
        base_rate = float(front.mpx_rate_hz)
    else:
        baseband, base_rate = x.astype(np.float32), rate_hz
    written = []
    spectrum = Path(f"{out}-spectrum.png")
    if entry.takes_iq:
        freqs, psd_db = mpx_spectrum(baseband, base_rate)
        plots.plot_mpx_spectrum(freqs, psd_db, str(spectrum),
                                title=f"{Path(path).name}: MPX spectrum ({profile})")
    else:
        freqs, psd = sps.welch(baseband, fs=base_rate, nperseg=min(8192, baseband.size))
        plots.plot_spectrum(freqs, 10 * np.log10(psd + 1e-30), str(spectrum),
                            band_hz=entry.band_hz, title=f"{Path(path).name}: spectrum ({profile})")
    written.append(spectrum)
    chain = RxChain(entry, kind, rate_hz)
    chain.process(x)
    symbols = getattr(chain.demodulator, "last_symbols", None)
    if symbols is not None and len(symbols):
        constellation = Path(f"{out}-constellation.png")
        plots.plot_constellation(np.asarray(symbols), str(constellation),
                                 title=f"{Path(path).name}: decisions ({profile}), "
                                       f"SNR {chain.quality.snr_db:.1f} dB")
        written.append(constellation)
    return written


def quality_from_events(path: str, out: Path) -> list[Path]:
    """The quality PNG of a decode log (its ``quality`` events against seconds of signal)."""
    try:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    rows, applied = [], []
    with stream:
        for number, line in enumerate(stream, start=1):
            if number > MAX_LOG_LINES:
                raise InputError(f"{path}: more than {MAX_LOG_LINES} lines; cut the log")
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} line {number}: not JSON ({exc.msg})") from None
            if not isinstance(event, dict):
                raise InputError(f"{path} line {number}: not a JSON object")
            if event.get("event") == "quality":
                rows.append(event)
            elif event.get("event") == "bundle_applied":
                applied.append(event)
    if not rows:
        raise InputError(f"{path}: no quality events (a log of `hotcast receiver decode` has one "
                         "per 10 s of signal)")
    png = Path(f"{out}-quality.png")
    plots.plot_quality(rows, applied, str(png), title=f"{Path(path).name}: signal quality")
    return [png]
