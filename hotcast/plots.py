"""PNG plots for benches and the demo (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402

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
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("PSD (dB re 1/Hz, 1.0 = 75 kHz deviation)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
