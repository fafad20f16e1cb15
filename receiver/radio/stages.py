"""Where a decode spends its CPU: process CPU seconds per named stage, and their one-line form.

The receive path's stages, in pipeline order (the keys of ``ReceivePipeline.stage_seconds``
and of the ``stages`` object of ``receiver decode``'s summary):

- ``startup``: interpreter start, imports, argument parsing, opening the store, building the
  pipeline (CLI only; measured from process start when run as the ``hotcast`` program, from
  ``main()`` when called in-process)
- ``input_read``: reading the input and converting it to samples (cu8 -> complex64, ...) (CLI)
- ``fm_demod``: the FM I/Q front end and discriminator (I/Q input only)
- ``subcarrier_demod``: any resampler to the profile's rate, then its demodulator to soft bits
- ``frame_sync``: the sync search, the older-format detector, frame bookkeeping
- ``inner_decode``: the frame decoder (LDPC codewords with the header, CRCs)
- ``erasure_decode``: reassembly of blocks into bundles (the erasure code across blocks)
- ``verify_decrypt``: signature checks and decryption of bundles and announcements (CLI)
- ``store_merge``: the store's transactions and the merger's bookkeeping (CLI)
- ``other``: the rest of the decode loop: input checks, events, JSON output (CLI)

Each is read with ``time.process_time`` around a call made once per internal block (or per
frame or bundle), so timing costs a few microseconds a block.
"""

from __future__ import annotations

import time

__all__ = ["STAGE_ORDER", "StageTimer", "format_stages", "ordered"]

STAGE_ORDER = ("startup", "input_read", "fm_demod", "subcarrier_demod", "frame_sync",
               "inner_decode", "erasure_decode", "verify_decrypt", "store_merge", "other")


class StageTimer:
    """Process CPU seconds accumulated per stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"StageTimer({self.seconds!r})"

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def call(self, stage: str, func, *args):
        """``func(*args)``, its CPU time added to ``stage``."""
        t0 = time.process_time()
        try:
            return func(*args)
        finally:
            self.add(stage, time.process_time() - t0)


def ordered(seconds: dict[str, float]) -> dict[str, float]:
    """``seconds`` with the known stages first, in pipeline order, then any others."""
    out = {k: seconds[k] for k in STAGE_ORDER if k in seconds}
    out.update((k, v) for k, v in seconds.items() if k not in out)
    return out


def format_stages(seconds: dict[str, float], signal_s: float, cpu_s: float) -> str:
    """One line for people: the decode's real-time factor, then each stage's CPU seconds and
    its share of ``cpu_s`` (``startup`` is shown, outside the share).

    e.g. ``decoded 60.0 s of signal in 2.00 s of CPU (30.0x real time); startup 0.50 s;
    fm_demod 1.50 s 75%, other 0.50 s 25%`` (one line).
    """
    speed = f"{signal_s / cpu_s:.1f}x real time" if cpu_s > 0 else "no CPU time measured"
    head = f"decoded {signal_s:.1f} s of signal in {cpu_s:.2f} s of CPU ({speed})"
    if "startup" in seconds:
        head += f"; startup {seconds['startup']:.2f} s"
    parts = [f"{k} {v:.2f} s {100 * v / cpu_s:.0f}%" if cpu_s > 0 else f"{k} {v:.2f} s"
             for k, v in ordered(seconds).items() if k != "startup"]
    return head + "; " + ", ".join(parts)
