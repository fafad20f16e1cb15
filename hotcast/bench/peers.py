"""The bench's peers section: other software modems beside ours, measured the same way in the
same run, so that their ratio holds on any machine.

For each peer that is installed (direwolf's ``atest``, ``multimon-ng``, ``minimodem``) the
section makes a signal of about the same length with the peer's own generator
(``peer_tools.py``), decodes it in a child process, and reports the payload bits it recovered
per CPU-second of that child (``os.wait4``). Ours: the ``audio`` and ``audio-robust`` carousels
of a real center, decoded by ``hotcast receiver decode`` as a child (``peer_ours.py``); its
CPU time includes Python's start-up and imports; a second column divides by the decode loop's
own CPU time, which the command reports in its summary. A missing peer's row says how to install it. The full run repeats every decode three
times (median, spread) and adds the frame error rate of each through white noise at a few SNRs
(noise power in a 3 kHz reference band against the whole signal's power: a fixed C/N0, fair to
modems of any bandwidth).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hotcast.bench import link_plots, peer_ours, peer_tools as pt
from hotcast.bench.model import BenchContext, Figure, Section, Table
from modem.impairments import add_noise

__all__ = ["run"]

OURS = ("audio", "audio-robust")
SNR_BAND_HZ = (300.0, 3_300.0)


@dataclass
class Row:
    key: str  # figure key part: "direwolf.afsk1200"
    decoder: str
    modem: str
    seconds: float = 0.0
    sent_bits: float = 0.0
    got_bits: float = 0.0
    cpu_s: list[float] = field(default_factory=list)
    loop_cpu_s: list[float] = field(default_factory=list)  # ours: the decode loop's own CPU
    missing: str = ""
    fer_by_snr: dict = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_s) if self.cpu_s else float("nan")

    @property
    def spread(self) -> float | None:
        return _spread(self.cpu_s)

    @property
    def loop_spread(self) -> float | None:
        return _spread(self.loop_cpu_s)

    def rate(self) -> float:
        return self.got_bits / self.cpu if self.cpu > 0 else float("nan")

    def loop_rate(self) -> float | None:
        """Ours: payload bits per CPU-second of the decode loop alone (the summary's
        ``seconds_of_cpu``: after start-up, imports and opening the store)."""
        if not self.loop_cpu_s:
            return None
        cpu = statistics.median(self.loop_cpu_s)
        return self.got_bits / cpu if cpu > 0 else None

    @property
    def startup_s(self) -> float | None:
        if not self.loop_cpu_s:
            return None
        return statistics.median(c - loop for c, loop in zip(self.cpu_s, self.loop_cpu_s))


def _spread(values: list[float]) -> float | None:
    """Relative standard deviation of repeats (None for fewer than two)."""
    if len(values) < 2 or statistics.mean(values) <= 0:
        return None
    return statistics.stdev(values) / statistics.mean(values)


@dataclass(frozen=True)
class _Peer:
    key: str
    decoder: str
    modem: str
    tool: str  # the command whose presence decides
    package: str


PEERS = (
    _Peer("direwolf.afsk1200", "direwolf (atest)", "AX.25, AFSK 1200 (Bell 202)", "atest", "direwolf"),
    _Peer("multimon-ng.afsk1200", "multimon-ng", "AX.25, AFSK 1200 (Bell 202)", "multimon-ng",
          "multimon-ng"),
    _Peer("direwolf.g3ruh9600", "direwolf (atest -B 9600)", "AX.25, G3RUH 9600 scrambled",
          "atest", "direwolf"),
    _Peer("minimodem.bell202", "minimodem --rx 1200", "text, FSK 1200 8-N-1 (Bell 202)",
          "minimodem", "minimodem"),
)


def _noisy(path: Path, snr_db: float, seed: int) -> tuple[np.ndarray, int]:
    x, rate = pt.read_wav_mono(path)
    power = float(np.mean(np.square(x, dtype=np.float64)))
    return add_noise(x, rate, snr_db, SNR_BAND_HZ, seed, signal_power=power), rate


def _peer_decode(peer: _Peer, wav: Path, sent: list[str], work: Path) -> tuple[int, float]:
    """(messages recovered, child CPU s) of one decode of ``wav``."""
    if peer.key.startswith("multimon"):
        x, _ = pt.read_wav_mono(wav)
        raw = work / (wav.stem + ".raw")
        pt.write_raw_s16le(raw, x)
        run = pt.run_child(["multimon-ng", "-q", "-t", "raw", "-a", "AFSK1200", str(raw)])
        found = pt.parse_multimon(run.stdout)
    elif peer.key.startswith("minimodem"):
        run = pt.run_child(["minimodem", "--rx", "1200", "-q", "-f", str(wav)])
        found = run.stdout.splitlines()
    else:
        baud = "9600" if "9600" in peer.key else "1200"
        run = pt.run_child(["atest", "-B", baud, str(wav)])
        found = pt.parse_atest(run.stdout)
    return len(pt.recovered(found, sent)), run.cpu_s


def _peer_row(peer: _Peer, seconds: float, repeats: int, snrs: tuple, ctx: BenchContext,
              work: Path) -> Row:
    row = Row(peer.key, peer.decoder, peer.modem)
    if not pt.installed(peer.tool):
        row.missing = f"not installed: apt-get install {peer.package}"
        return row
    wav = work / f"{peer.key}.wav"
    if peer.key.startswith("minimodem"):
        sent = pt.text_lines(max(4, round(seconds / 0.467)))  # 56 chars x 10 bits / 1200 bit/s
        pt.minimodem_tx(sent, wav)
        per_message = [8 * (len(s) + 1) for s in sent]
    else:
        fast = "9600" in peer.key
        sent = pt.ax25_messages(max(4, round(seconds / (0.113 if fast else 0.9))))
        pt.gen_packets(sent, wav, baud=9600 if fast else 1200)
        per_message = [8 * (len(s) + 1) for s in sent]  # gen_packets sends the line's newline
    x, rate = pt.read_wav_mono(wav)
    row.seconds, row.sent_bits = x.size / rate, float(sum(per_message))
    for _ in range(repeats):
        got, cpu = _peer_decode(peer, wav, sent, work)
        row.cpu_s.append(cpu)
    row.got_bits = row.sent_bits * got / len(sent)
    for i, snr in enumerate(snrs):
        y, _ = _noisy(wav, snr, ctx.seed + i)
        noisy = work / f"{peer.key}-snr{snr:g}.wav"
        pt.write_wav_mono(noisy, y, rate)
        got, _ = _peer_decode(peer, noisy, sent, work)
        row.fer_by_snr[snr] = 1 - got / len(sent)
    ctx.progress(f"peers: {peer.decoder}")
    return row


def _our_rows(seconds: float, repeats: int, snrs: tuple, ctx: BenchContext,
              work: Path) -> list[Row]:
    homes = peer_ours.make_homes(work, revoked=3000, seed=ctx.seed)
    rows = []
    for p in OURS:
        row = Row(f"hotcast.{p}", "hotcast receiver decode", f"{p}: "
                  + ("OFDM 16-QAM, LDPC 2/3" if p == "audio" else "OFDM QPSK, LDPC 1/2"))
        wav = work / f"{p}.wav"
        row.seconds = peer_ours.render_wav(homes, p, seconds, wav)
        frames_sent = peer_ours.frames_on_air(p, row.seconds)
        per_frame = peer_ours.payload_bits_per_frame(p)
        row.sent_bits = frames_sent * per_frame
        for _ in range(repeats):
            bits, cpu, summary = peer_ours.decode(homes, p, wav)
            row.cpu_s.append(cpu)
            if summary.get("seconds_of_cpu") is not None:
                row.loop_cpu_s.append(float(summary["seconds_of_cpu"]))
        row.got_bits = bits
        x, rate = pt.read_wav_mono(wav)
        for i, snr in enumerate(snrs):
            y, _ = _noisy(wav, snr, ctx.seed + i)
            noisy = work / f"{p}-snr{snr:g}.wav"
            pt.write_wav_mono(noisy, y, rate)
            bits, _, _ = peer_ours.decode(homes, p, noisy)
            row.fer_by_snr[snr] = max(0.0, 1 - bits / per_frame / frames_sent)
        ctx.progress(f"peers: hotcast {p}")
        rows.append(row)
    return rows


def _figures(rows: list[Row]) -> list[Figure]:
    out = []
    for row in rows:
        if row.missing or not row.cpu_s:
            continue
        out.append(Figure(f"peers.{row.key}.bits_per_cpu_s", round(row.rate(), 1), "bit/cpu-s",
                          f"{row.decoder}, {row.modem}: payload bits per CPU-second", "higher",
                          row.spread, len(row.cpu_s)))
        if row.loop_rate() is not None:
            out.append(Figure(f"peers.{row.key}.bits_per_cpu_s_after_startup",
                              round(row.loop_rate(), 1), "bit/cpu-s",
                              f"{row.decoder} {row.key[8:]}: the same, start-up taken off",
                              "higher", row.loop_spread, len(row.loop_cpu_s)))
    ours = {r.key: r for r in rows if r.key.startswith("hotcast.") and r.cpu_s}
    wolf = next((r for r in rows if r.key == "direwolf.afsk1200" and r.cpu_s), None)
    if wolf is not None and wolf.rate() > 0:
        for key, row in ours.items():
            out.append(Figure(f"peers.{key}.over_direwolf_afsk1200", round(row.rate() / wolf.rate(), 3),
                              "x", f"{key[8:]} payload bits per CPU-s / direwolf AFSK 1200's",
                              "higher"))
    return out


def _table(rows: list[Row], snrs: tuple) -> Table:
    cols = ["decoder", "modem", "signal (s)", "payload sent (bit)", "payload recovered (bit)",
            "child CPU (s)", "payload bit per CPU-s", "after start-up", "x real time"]
    cols += [f"FER at {s:g} dB SNR" for s in snrs]
    out = []
    for r in rows:
        if r.missing:
            out.append([r.decoder, r.modem, r.missing] + [None] * (len(cols) - 3))
            continue
        loop = r.loop_rate()
        out.append([r.decoder, r.modem, round(r.seconds, 1), round(r.sent_bits),
                    round(r.got_bits), round(r.cpu, 3), round(r.rate()),
                    None if loop is None else round(loop), round(r.seconds / r.cpu, 1)]
                   + [round(r.fer_by_snr[s], 3) for s in snrs])
    return Table("Peers: payload bits per CPU-second, decoding signals of about the same length",
                 cols, out, note="CPU: the decoding child's user + system time; hotcast's "
                 f"includes Python's start-up and imports ({_startup_text(rows)}); 'after "
                 "start-up' divides by the decode loop's own CPU (the summary's seconds_of_cpu). "
                 "Payload: AX.25 "
                 "information fields, minimodem's text lines decoded whole, hotcast's blocks net "
                 "of 10 % repair. SNR: noise in 300-3300 Hz against the whole signal's power.")


def _startup_text(rows: list[Row]) -> str:
    parts = [f"{r.key[8:]} {r.startup_s:.2f} s" for r in rows if r.startup_s is not None]
    return ", ".join(parts) if parts else "not measured"


def run(ctx: BenchContext) -> Section:
    start = time.monotonic()
    seconds = 20.0 if ctx.quick else 90.0
    repeats = 1 if ctx.quick else 3
    snrs = () if ctx.quick else (3.0, 6.0, 10.0, 15.0, 20.0)
    section = Section("peers", "Side by side with other software modems")
    with tempfile.TemporaryDirectory(prefix="hotcast-peers-") as tmp:
        work = Path(tmp)
        rows = [_peer_row(p, seconds, repeats, snrs, ctx, work) for p in PEERS]
        rows += _our_rows(seconds, repeats, snrs, ctx, work)
    section.figures += _figures(rows)
    section.tables.append(_table(rows, snrs))
    done = [r for r in rows if r.cpu_s]
    if done:
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        section.plots.append(link_plots.plot_peers(
            [f"{r.decoder}: {r.modem}" for r in done], [r.rate() for r in done],
            [r.loop_rate() for r in done],
            ctx.out_dir))
    section.notes += [f"{r.decoder}: {r.missing}" for r in rows if r.missing]
    if ctx.quick:
        section.notes.append("quick run: one decode each, no FER through noise (full run only)")
    section.notes.append(f"peers section: {time.monotonic() - start:.0f} s")
    return section
