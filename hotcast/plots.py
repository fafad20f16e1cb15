"""``hotcast plot``: draw, from a capture, its spectrum and constellation, or from a decode
event log (the JSON lines of ``receiver decode``), the signal quality over time, as PNG.

The drawing functions here serve the command, the demo and the benches (matplotlib with the Agg
backend: no display needed); reading captures and logs is ``hotcast.plotting``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402

from pathlib import Path  # noqa: E402

from hotcast.runner import InputError  # noqa: E402
from modem.mpxsim import BANDS_HZ  # noqa: E402

_COLOURS = {"L+R": "tab:blue", "pilot": "tab:red", "L-R": "tab:green", "RDS": "tab:purple",
            "data": "tab:orange"}
_LABELS = {"L+R": "L+R (mono)", "pilot": "pilot 19 kHz", "L-R": "L-R (38 kHz DSB-SC)",
           "RDS": "RDS 57 kHz", "data": "hotcast 62-90 kHz"}


def plot_mpx_spectrum(freqs: np.ndarray, psd_db: np.ndarray, path: str,
                      title: str = "MPX spectrum") -> None:
    """Write a PNG of an MPX PSD (from ``modem.mpxsim.mpx_spectrum``) with the bands shaded."""
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    khz = np.asarray(freqs) / 1e3
    ax.plot(khz, psd_db, color="black", linewidth=0.7)
    top = float(np.max(psd_db)) if len(psd_db) else 0.0
    for name, (lo, hi) in BANDS_HZ.items():
        ax.axvspan(lo / 1e3, hi / 1e3, color=_COLOURS[name], alpha=0.18, label=_LABELS[name])
        ax.text((lo + hi) / 2e3, top + 3, name, ha="center", va="bottom", fontsize=8,
                color=_COLOURS[name])
    ax.set_xlim(0, khz[-1] if len(khz) else 100)
    ax.set_ylim(top - 100, top + 10)
    _save_psd(fig, ax, path, title, "PSD (dB re 1/Hz, 1.0 = 75 kHz deviation)")


def plot_spectrum(freqs: np.ndarray, psd_db: np.ndarray, path: str, band_hz: tuple[float, float],
                  title: str) -> None:
    """A PSD with the profile's band shaded (audio and other non-MPX basebands)."""
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    ax.plot(np.asarray(freqs) / 1e3, psd_db, color="black", linewidth=0.7)
    ax.axvspan(band_hz[0] / 1e3, band_hz[1] / 1e3, color="tab:orange", alpha=0.18,
               label="hotcast band")
    _save_psd(fig, ax, path, title, "PSD (dB re 1/Hz, 1.0 = full scale)")


def _save_psd(fig, ax, path: str, title: str, ylabel: str) -> None:
    """Label a spectrum's axes, add grid and legend, write the PNG and free the figure."""
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_constellation(symbols: np.ndarray, path: str, title: str) -> None:
    """The demodulator's decision points (complex), at most 20 000 of them."""
    z = np.asarray(symbols)[-20_000:]
    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=100)
    ax.scatter(z.real, z.imag, s=1, alpha=0.3, color="tab:blue")
    lim = 1.3 * float(np.percentile(np.abs(z), 99)) if z.size else 1.0
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("I")
    ax.set_ylabel("Q")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_quality(rows: list[dict], applied: list[dict], path: str, title: str) -> None:
    """SNR and CNR, raw BER, and frames per period against seconds of signal; applied bundles
    as vertical marks."""
    t = np.array([r.get("t_s", 0.0) for r in rows], dtype=float)

    def col(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])

    fig, axes = plt.subplots(3, 1, figsize=(10, 7), dpi=100, sharex=True)
    axes[0].plot(t, col("snr_db"), label="SNR at the decisions (dB)")
    if np.isfinite(col("cnr_db")).any():
        axes[0].plot(t, col("cnr_db"), label="CNR (dB)")
    axes[0].set_ylabel("dB")
    axes[0].legend(fontsize=8)
    ber = col("ber")
    axes[1].semilogy(t, np.where(ber > 0, ber, np.nan), color="tab:red")
    axes[1].set_ylabel("raw BER")
    axes[2].bar(t, col("frames_ok"), width=max(1.0, float(np.median(np.diff(t))) * 0.8
                if t.size > 1 else 1.0), label="frames ok", color="tab:green")
    axes[2].bar(t, col("frames_bad"), bottom=col("frames_ok"), width=max(
        1.0, float(np.median(np.diff(t))) * 0.8 if t.size > 1 else 1.0), label="frames bad",
        color="tab:red")
    axes[2].set_ylabel("frames / period")
    axes[2].set_xlabel("seconds of signal")
    axes[2].legend(fontsize=8)
    for ax in axes:
        for a in applied:
            ax.axvline(a.get("t_s", 0.0), color="black", linewidth=0.6, alpha=0.5)
        ax.grid(True, alpha=0.3)
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# -- ``hotcast plot`` -----------------------------------------------------------------------

_PLOT_SECONDS = 4.0  # of a capture: enough for a smooth Welch PSD, quick to demodulate


def add_arguments(parser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--capture", metavar="FILE", help="a signal file (as receiver decode reads)")
    what.add_argument("--events", metavar="FILE", help="a decode event log (JSON lines, - = stdin)")
    parser.add_argument("--profile", default="fm", help="the capture's profile (default fm)")
    parser.add_argument("--format", help="the capture's sample format (default: from the file)")
    parser.add_argument("--rate", type=float, metavar="HZ", help="the capture's sample rate")
    parser.add_argument("--seconds", type=float, default=_PLOT_SECONDS,
                        help="seconds of the capture to analyse (default 4)")
    parser.add_argument("--out", required=True, metavar="PREFIX",
                        help="write PREFIX-spectrum.png and PREFIX-constellation.png (capture) "
                             "or PREFIX-quality.png (events)")


def run(args, ctx) -> int:
    from hotcast import plotting

    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"--out: folder {str(out.parent)!r} does not exist")
    if args.events is not None:
        written = plotting.quality_from_events(args.events, out)
    else:
        if not (0 < args.seconds <= 3600):
            raise InputError(f"--seconds {args.seconds:g} must be above 0 and at most 3600")
        written = plotting.from_capture(args.capture, args.format, args.rate, args.profile,
                                        args.seconds, out)
    ctx.emit_many({"png": str(p)} for p in written)
    return 0
