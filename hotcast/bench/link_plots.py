"""PNG plots of the link section (matplotlib, Agg backend: no display needed).

Measured points are markers joined by lines; theory is drawn thin or dashed; a measured FER of
zero is drawn as an open down-triangle at half an error in the point's frames (a log axis has
no 0: the true rate lies below it).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)
import numpy as np  # noqa: E402

from hotcast.bench import theory  # noqa: E402
from hotcast.bench.link_plan import (FER_TARGET, RDS_GROUPS_BY_CNR_DB,  # noqa: E402
                                     RDS_HALF_GROUPS_CNR_DB, ProfileTheory)

_FLOOR = 1e-5


def _measured(ax, xs, fers, sents, label, colour, marker="o") -> None:
    """Points with errors as filled markers joined by a line; error-free points as open
    down-triangles at half an error in their frames (an upper bound, not a value); the line
    runs on to the first of them only."""
    xs = np.asarray(xs, dtype=float)
    fers = np.asarray(fers, dtype=float)
    bound = 0.5 / np.maximum(np.asarray(sents, dtype=float), 1)
    zero = fers == 0
    y = np.where(zero, bound, fers)
    order = np.argsort(xs)
    xs, y, zero = xs[order], y[order], zero[order]
    first = np.flatnonzero(zero)
    end = first[0] + 1 if first.size else xs.size
    ax.semilogy(xs[:end], y[:end], "-", color=colour, lw=1.5, label=label)
    ax.semilogy(xs[~zero], y[~zero], marker, color=colour, ms=5)
    if zero.any():
        ax.semilogy(xs[zero], y[zero], "v", color=colour, ms=6, mfc="none")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_ebn0(profile: str, th: ProfileTheory, curve, code, out_dir: Path) -> Path:
    """FER (left) and raw BER (right) against Eb/N0 per payload bit, beside theory."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=100)
    xs = curve.xs
    lo, hi = min(xs + [p.ebn0_db + th.overhead_db for p in code.points]) - 1.0, max(xs) + 1.0
    shannon = theory.shannon_ebn0_min_db(th.eta)
    lo = min(lo, shannon - 0.5)
    grid = np.linspace(lo, hi, 300)
    _measured(ax, xs, curve.fers, [r.sent for r in curve.results],
              f"{profile} link, {curve.frames_per_point} frames/point", "tab:blue")
    if code.points:
        _measured(ax, [p.ebn0_db + th.overhead_db for p in code.points],
                  code.frame_fers(th.codewords_per_frame),
                  [p.codewords // th.codewords_per_frame for p in code.points],
                  f"{th.code} alone (BPSK/AWGN, project decoder), {th.codewords_per_frame}/frame",
                  "tab:green", "s")
    k = round(1944 * th.code_rate)
    na = theory.frame_error(theory.normal_approx_block_error(1944, k, grid - th.overhead_db),
                            th.codewords_per_frame)
    ax.semilogy(grid, np.maximum(na, 1e-12), "--", color="tab:gray", lw=1,
                label=f"normal approximation ({1944}, {k}) x{th.codewords_per_frame}")
    ax.axvline(shannon, color="k", lw=1, label=f"Shannon limit, {th.eta:.2f} bit/s/Hz "
                                                f"({shannon:.2f} dB)")
    if th.bits_per_symbol == 2:
        binary = theory.biawgn_ebn0_limit_db(th.efficiency)
        ax.axvline(binary, color="k", ls=":", lw=1,
                   label=f"binary-input limit, rate {th.efficiency:.3f} ({binary:.2f} dB)")
    ax.axhline(FER_TARGET, color="tab:red", lw=0.6, ls="-.")
    ax.set(xlim=(lo, hi), ylim=(_FLOOR, 1.5), xlabel="Eb/N0 per payload bit (dB)",
           ylabel="frame error rate", title=f"{profile}: FER against Eb/N0")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    bers = [(r.point.ebn0_db, r.raw_ber) for r in curve.results if r.raw_ber]
    if bers:
        bx.semilogy(*zip(*bers), "o-", color="tab:blue", label="raw channel BER (measured)")
    if th.bits_per_symbol is not None:
        mod = "QPSK" if th.bits_per_symbol == 2 else "16-QAM"
        bx.semilogy(grid, theory.ber_uncoded(th.bits_per_symbol, grid + theory.db(th.efficiency)),
                    "--", color="tab:gray", label=f"uncoded {mod} at the same channel bits")
    bx.semilogy(grid, theory.ber_bpsk(grid), ":", color="k", lw=1,
                label="uncoded coherent BPSK per payload bit (reference)")
    bx.set(xlim=(lo, hi), ylim=(1e-5, 0.5), xlabel="Eb/N0 per payload bit (dB)",
           ylabel="bit error rate", title=f"{profile}: BER before decoding")
    bx.grid(True, which="both", alpha=0.3)
    bx.legend(fontsize=7, loc="lower left")
    return _save(fig, out_dir / f"link_{profile}_ebn0.png")


def plot_cnr(curves: dict, out_dir: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=100)
    for (p, curve), colour in zip(curves.items(), ("tab:blue", "tab:orange")):
        _measured(ax, curve.xs, curve.fers, [r.sent for r in curve.results],
                  f"{p}, {curve.frames_per_point} frames/point", colour)
    cnr, share = zip(*RDS_GROUPS_BY_CNR_DB)
    ax.semilogy(cnr, np.maximum(1 - np.array(share), _FLOOR), "^--", color="tab:purple",
                label="RDS 3 kHz, groups lost (field notes)")
    ax.axvline(RDS_HALF_GROUPS_CNR_DB, color="tab:purple", lw=1, ls=":",
               label=f"RDS threshold ~{RDS_HALF_GROUPS_CNR_DB:.0f} dB (half its groups)")
    ax.axhline(FER_TARGET, color="tab:red", lw=0.6, ls="-.")
    ax.set(ylim=(_FLOOR, 1.5), xlabel="CNR at the dongle (dB in 200 kHz)", ylabel="frame error rate",
           title="FM profiles against CNR (stereo programme, +20 kHz tuner offset)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out_dir / "link_fm_cnr.png")


def plot_offsets(curves: dict, out_dir: Path) -> Path:
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), dpi=100)
    panels = {("fm", "tuner"): (0, 0, "tuner offset (kHz)", 1e-3),
              ("fm", "ppm"): (0, 1, "receiver clock error (ppm)", 1.0),
              ("audio", "shift"): (1, 0, "audio frequency shift (Hz)", 1.0),
              ("audio", "ppm"): (1, 1, "sound card clock error (ppm)", 1.0)}
    for (p, what), curve in curves.items():
        family = "fm" if p.startswith("fm") else "audio"
        row, col, xlabel, scale = panels[(family, what)]
        ax = axes[row][col]
        ax.plot(np.array(curve.xs) * scale, curve.fers, "o-", label=f"{p}, "
                f"{curve.frames_per_point} frames/point")
        ax.set(xlabel=xlabel, ylabel="frame error rate", ylim=(-0.05, 1.05))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Frame error rate against frequency and clock errors")
    return _save(fig, out_dir / "link_offsets.png")


def plot_codecs(rows: list[list], out_dir: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=100)
    codecs = list(dict.fromkeys(r[1] for r in rows))
    x = np.arange(len(codecs))
    for i, p in enumerate(("audio", "audio-robust")):
        fer = {r[1]: r[3] for r in rows if r[0] == p}
        ax.bar(x + (i - 0.5) * 0.38, [fer.get(c, np.nan) for c in codecs], 0.38, label=p)
    ax.set_xticks(x, codecs)
    ax.set(ylabel="frame error rate", ylim=(0, 1.05),
           title="Audio profiles through lossy codecs (ffmpeg round trip)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    return _save(fig, out_dir / "link_audio_codecs.png")


def plot_ir(curves: dict, out_dir: Path) -> Path:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    j, d = curves["jitter"], curves["drops"]
    ax.plot(j.xs, j.fers, "o-")
    ax.set(xlabel="edge jitter +- (us), uniform on every edge", ylabel="frame error rate",
           ylim=(-0.05, 1.05), title=f"ir against jitter ({j.frames_per_point} frames/point)")
    bx.plot(np.array(d.xs) * 100, d.fers, "o-", color="tab:orange")
    bx.set(xlabel="bursts lost (%)", ylabel="frame error rate", ylim=(-0.05, 1.05),
           title=f"ir against burst drops ({d.frames_per_point} frames/point)")
    for a in (ax, bx):
        a.grid(True, alpha=0.3)
    return _save(fig, out_dir / "link_ir_timing.png")


def plot_peers(labels: list[str], whole: list[float], after: list[float | None],
               out_dir: Path) -> Path:
    """Payload bits per CPU-second, log scale: each decoder's whole child process, and ours
    also with Python's start-up taken off."""
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(labels) + 1.5), dpi=100)
    y = np.arange(len(labels))
    ax.barh(y, whole, 0.4, label="whole child process", color="tab:blue")
    extra = [a if a is not None else np.nan for a in after]
    ax.barh(y + 0.4, extra, 0.4, label="start-up taken off (hotcast)", color="tab:orange")
    ax.set_yticks(y + 0.2, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="payload bits per CPU-second (one core)",
           title="Decoders side by side, same run, same machine")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out_dir / "peers_bits_per_cpu_s.png")
