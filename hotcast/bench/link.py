"""The bench's link section: frame and bit error rates of every profile against Eb/N0 per payload
bit beside theory (uncoded modulation, the code alone, the normal approximation, Shannon's and
the binary-input limit), against CNR at the dongle for the FM profiles with RDS's threshold
marked, against tuner offset, audio frequency shift and clock error, against audio codecs, and
against IR edge jitter and burst drops.

``run(ctx) -> Section``. Every point is a seeded ``linksim.simulate`` of real frames through the
profile's own transmit and receive chains and frame layer (``link_plan.py`` says which points).
Thresholds are read off the curves by ``theory.crossing_db`` (log-linear between the points
around FER 1e-3): with ``ctx.quick`` a point holds a handful of frames, so the quick crossings
are coarse estimates (extrapolated from the waterfall's slope); the full run counts hundreds.
"""

from __future__ import annotations

import time

import numpy as np

from hotcast.bench import link_plots, theory
from hotcast.bench.link_plan import (FER_TARGET, PROFILES, RDS_GROUPS_BY_CNR_DB,
                                     RDS_HALF_GROUPS_CNR_DB, RDS_SOURCE, Plan, make_plan,
                                     profile_theory)
from hotcast.bench.link_sweeps import (CodeCurve, Curve, cnr_curves, code_curves, codec_rows,
                                       ebn0_curves, ir_curves, offset_curves, tolerance)
from hotcast.bench.model import BenchContext, Figure, Section, Table

__all__ = ["run"]


def _fig(key: str, value: float | None, unit: str, label: str, better,
         resolution: float | None = None) -> list[Figure]:
    """One figure, or none when it could not be measured. ``resolution``: how finely the sweep
    can place it (half a grid step), given to ``--compare`` as the figure's spread relative to
    its value, so a threshold moving within its grid step is not called a change."""
    if value is None or not np.isfinite(value):
        return []
    spread = None if not resolution or value == 0 else round(resolution / abs(value), 4)
    return [Figure(key, round(float(value), 3), unit, label, better, spread)]


def _half_step(xs: list[float]) -> float | None:
    steps = np.diff(np.unique(np.abs(xs)))
    return float(steps.min()) / 2 if steps.size else None


def _beyond(xs: list[float], value: float | None) -> float | None:
    """Half the distance from a tolerance to the next larger |x| swept (where it failed)."""
    if value is None:
        return None
    larger = [abs(x) for x in xs if abs(x) > value]
    return (min(larger) - value) / 2 if larger else None


def _theory_row(p: str, curve: Curve, code: CodeCurve, section: Section) -> list:
    th = profile_theory(p)
    measured = curve.crossing(FER_TARGET)
    shannon = theory.shannon_ebn0_min_db(th.eta)
    binary = theory.biawgn_ebn0_limit_db(th.efficiency) if th.bits_per_symbol == 2 else None
    x = np.linspace(-2.0, 8.0, 1001)
    na = theory.frame_error(theory.normal_approx_block_error(1944, round(1944 * th.code_rate), x),
                            th.codewords_per_frame)
    normal = float(np.interp(np.log10(FER_TARGET), np.log10(np.maximum(na[::-1], 1e-300)),
                             x[::-1])) + th.overhead_db
    alone = code.crossing(FER_TARGET, th.codewords_per_frame)
    alone = None if alone is None else round(alone + th.overhead_db, 2)
    key = f"link.{p}"
    res = _half_step(curve.xs)
    section.figures += _fig(f"{key}.ebn0_at_fer_1e-3", measured, "dB",
                            f"{p}: Eb/N0 per payload bit at FER 1e-3", "lower", res)
    if measured is not None:
        section.figures += _fig(f"{key}.gap_to_shannon_db", measured - shannon, "dB",
                                f"{p}: gap to Shannon's limit at FER 1e-3", "lower", res)
        if alone is not None:
            both = None if res is None else float(np.hypot(res, _half_step(
                [pt.ebn0_db for pt in code.points]) or 0.0))
            section.figures += _fig(f"{key}.gap_to_code_db", measured - alone, "dB",
                                    f"{p}: loss against its code alone (BPSK/AWGN)", "lower",
                                    both)
    mod = {2: "QPSK", 4: "16-QAM", None: "pulse distance"}[th.bits_per_symbol]
    return [p, f"{th.code.split('-')[-1]} x{th.codewords_per_frame}, {mod}", curve.frames_per_point,
            measured, round(shannon, 2), None if binary is None else round(binary, 2),
            round(normal, 2), alone, round(th.overhead_db, 2),
            None if measured is None else round(measured - shannon, 2),
            None if measured is None or alone is None else round(measured - alone, 2)]


def _ebn0_part(plan: Plan, ctx: BenchContext, section: Section) -> None:
    codes = code_curves(plan, ctx)
    curves = ebn0_curves(plan, ctx)
    rows, points = [], []
    for p in PROFILES:
        th = profile_theory(p)
        rows.append(_theory_row(p, curves[p], codes[th.code], section))
        section.plots.append(link_plots.plot_ebn0(p, th, curves[p], codes[th.code], ctx.out_dir))
        for r in curves[p].results:
            eb = r.point.ebn0_db
            uncoded = (None if th.bits_per_symbol is None else float(
                theory.ber_uncoded(th.bits_per_symbol, eb + theory.db(th.efficiency))))
            points.append([p, eb, r.sent, round(r.fer, 4), r.raw_ber, uncoded])
    section.tables.append(Table(
        "Eb/N0 per payload bit at FER 1e-3, beside theory (dB)",
        ["profile", "code, modulation", "frames/point", "measured", "Shannon", "binary-input",
         "normal approx.", "code alone", "overhead", "gap to Shannon", "gap to code"], rows,
        note="Shannon: least Eb/N0 at the payload bits per complex dimension; binary-input: "
             "capacity of BPSK/QPSK rails at the payload bits per channel bit (QPSK profiles); "
             "normal approx.: best code of the same length and rate (PPV 2010), frames of the "
             "profile's codewords; code alone: the project's LDPC decoder over ideal BPSK. Those "
             "three are shifted by the frame's overhead (sync word, header, CRCs, shortening, "
             "10 % repair blocks) to the payload axis. ir's pulse-distance carrier is read by an "
             "envelope detector: its gap is to coherent theory."))
    section.tables.append(Table(
        "FER and raw BER against Eb/N0 per payload bit",
        ["profile", "Eb/N0 (dB)", "frames", "FER", "raw BER (measured)", "raw BER (uncoded theory)"],
        points, note="raw BER: channel bits the decoder corrected, over codewords it decoded "
                     "(frames lost whole are not in it); theory: the profile's constellation at "
                     "Es/N0 per channel bit."))


def _cnr_part(plan: Plan, ctx: BenchContext, section: Section) -> None:
    curves = cnr_curves(plan, ctx)
    rows = []
    for p, curve in curves.items():
        at = curve.crossing(FER_TARGET)
        res = _half_step(curve.xs)
        section.figures += _fig(f"link.{p}.cnr_at_fer_1e-3", at, "dB",
                                f"{p}: CNR at the dongle at FER 1e-3", "lower", res)
        if at is not None:
            section.figures += _fig(f"link.{p}.margin_over_rds_db", RDS_HALF_GROUPS_CNR_DB - at,
                                    "dB", f"{p}: CNR margin over RDS (half its groups)", "higher",
                                    res)
        rows += [[p, r.point.cnr_db, r.sent, round(r.fer, 4)] for r in curve.results]
    rows += [["RDS 3 kHz (field notes)", cnr, None, round(1 - share, 3)]
             for cnr, share in RDS_GROUPS_BY_CNR_DB]
    section.tables.append(Table("FER against CNR at the dongle (FM I/Q, stereo programme, pilot "
                                "and RDS on air, +20 kHz tuner offset)",
                                ["profile", "CNR (dB)", "frames", "FER (RDS: groups lost)"], rows,
                                note=f"RDS: {RDS_SOURCE}; hotcast has no RDS group decoder."))
    section.plots.append(link_plots.plot_cnr(curves, ctx.out_dir))


def _offsets_part(plan: Plan, ctx: BenchContext, section: Section) -> None:
    curves = offset_curves(plan, ctx)
    rows = []
    for (p, what), curve in curves.items():
        unit = "ppm" if what == "ppm" else "Hz"
        label = {"tuner": "tuner offset", "shift": "audio frequency shift", "ppm": "clock error"}
        ok = tolerance(curve)
        section.figures += _fig(f"link.{p}.{what}_tolerance_{unit.lower()}", ok, unit,
                                f"{p}: largest {label[what]} with every frame decoded", "higher",
                                _beyond(curve.xs, ok))
        rows += [[p, label[what], r.point.freq_offset_hz if what != "ppm" else r.point.ppm,
                  r.sent, round(r.fer, 4)] for r in curve.results]
    section.tables.append(Table("FER against frequency offset and clock error",
                                ["profile", "impairment", "value", "frames", "FER"], rows,
                                note="FM: tuner offset and ppm on the I/Q at CNR threshold + ~3 dB; "
                                     "audio: the sound shifted in frequency (a mistuned SSB "
                                     "receiver), and the sound card's clock, without noise."))
    section.plots.append(link_plots.plot_offsets(curves, ctx.out_dir))


def _codecs_part(plan: Plan, ctx: BenchContext, section: Section) -> None:
    rows, missing = codec_rows(plan, ctx)
    if missing:
        section.notes.append(f"audio codecs skipped: {missing}")
        return
    for p in ("audio", "audio-robust"):
        clean = sum(1 for row in rows if row[0] == p and row[3] == 0.0)
        section.figures += _fig(f"link.{p}.codecs_clean", clean, "codecs",
                                f"{p}: codecs of {len(plan.codecs)} with every frame decoded",
                                "higher")
    section.tables.append(Table("FER through lossy audio codecs (ffmpeg round trip, no noise)",
                                ["profile", "codec", "frames", "FER"], rows))
    section.plots.append(link_plots.plot_codecs(rows, ctx.out_dir))


def _ir_part(plan: Plan, ctx: BenchContext, section: Section) -> None:
    curves = ir_curves(plan, ctx)
    jitter, drops = curves["jitter"], curves["drops"]
    ok_jitter, ok_drops = tolerance(jitter), tolerance(drops)
    section.figures += _fig("link.ir.jitter_tolerance_us", ok_jitter, "us",
                            "ir: largest edge jitter (+-) with every frame decoded", "higher",
                            _beyond(jitter.xs, ok_jitter))
    beyond = _beyond(drops.xs, ok_drops)
    section.figures += _fig("link.ir.drop_tolerance_pct", None if ok_drops is None else
                            100 * ok_drops, "%",
                            "ir: largest share of bursts lost with every frame decoded", "higher",
                            None if beyond is None else 100 * beyond)
    rows = [["edge jitter +- (us)", r.point.ir.jitter_us, r.sent, round(r.fer, 4)]
            for r in jitter.results]
    rows += [["bursts lost (%)", 100 * r.point.ir.drop_fraction, r.sent, round(r.fer, 4)]
             for r in drops.results]
    section.tables.append(Table("ir: FER against edge jitter and burst drops (pulse timings)",
                                ["impairment", "value", "frames", "FER"], rows))
    section.plots.append(link_plots.plot_ir(curves, ctx.out_dir))


def run(ctx: BenchContext) -> Section:
    """The link section (see the module docstring); plots go to ``ctx.out_dir``."""
    start = time.monotonic()
    plan = make_plan(ctx.quick)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    section = Section("link", "Link quality against theory, CNR, offsets, codecs and IR timing")
    for part in (_ebn0_part, _cnr_part, _offsets_part, _codecs_part, _ir_part):
        part(plan, ctx, section)
    if ctx.quick:
        section.notes.append("quick run: a handful of frames a point, so the curves are coarse and "
                             "the FER 1e-3 crossings are extrapolated from the waterfall's slope; "
                             "run without --quick for hundreds of frames a point")
    section.notes.append(f"link section: {time.monotonic() - start:.0f} s, seed {ctx.seed}")
    return section
