"""One channel of ``center serve``: a live carousel, its policy, its output and its air clock.

``Channel(spec, writer, ...)`` takes the scheduler's ``AirSet``s (``offer``) and renders frames
ahead of the air (``pump``), one frame per item handed to its ``Writer``.

Air clock: frame k of the carousel (``LiveCarousel.frame_start_s(k)``, the lead-in before frame
0) goes on air at ``t0 + frame_start_s(k)``, ``t0`` being when the channel (re)started.
- An output paced by the clock (files, and every output under a simulated clock) gets frame k
  when the clock reaches its start less ``policy.ahead_s``; ``behind_s`` is how far the next
  frame's start is already past. A channel more than ``MAX_BEHIND_S`` late (a stalled
  process, a suspended machine) jumps to now instead of rendering the backlog, and says so.
- A sound card or a stream paces itself (its write blocks): the channel keeps ``ahead_s`` of
  frames queued; ``behind_s`` is how long the output has waited with nothing queued.
A change therefore reaches the output ``ahead_s`` (plus the frame in progress) after ``offer``.

Batching (``policy.delta_batch_s``): an AirSet that changes only the lists (no key material)
is held until that long after the registry edit it carries was first seen; anything that
changes key material goes at once (and takes the held lists with it).

After the output failed and came back, the carousel starts afresh: a lead-in, then the current
bundles in the round-robin (``Writer.take_restart``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from center.air.live import LiveBlock, LiveCarousel
from center.air.plan import ChannelPlan
from center.air.policy import air_figures
from center.air.render import RenderConfig, file_fields
from center.air.scheduler import AirSet, keyset_epoch
from center.air.writer import Writer

START_GRACE_S = 5.0  # a channel waits this long for the scheduler's first AirSet, then idles
MAX_BEHIND_S = 5.0
EXPIRE_EVERY_S = 1.0


class Channel:
    """A channel's carousel, rendered ahead of its air clock into its writer."""

    def __init__(self, spec: ChannelPlan, writer: Writer | None, *, paced_by_clock: bool,
                 log: Callable[[dict], None], now: float) -> None:
        self.spec, self.writer, self.log = spec, writer, log
        self.paced_by_clock = paced_by_clock
        tx = spec.output.tx_options(spec.injection, spec.with_programme)
        self.live = LiveCarousel(spec.profile, RenderConfig(tx=tx), spec.policy)
        self.ahead_s = spec.policy.ahead_s
        # A clock-paced output that stops taking frames (a hung disk) holds at most this much
        # signal queued; then the channel renders nothing and falls behind, visibly.
        self.max_queue_s = max(2 * self.ahead_s, 2 * self.live.frame_s)
        self.t0: float | None = None
        self._created = now
        self._applied: AirSet | None = None
        self._held: AirSet | None = None
        self._figures = (0.0, 0.0)
        self._expired_at = now
        self.stopping = False
        self.skipped_s = 0.0

    def __repr__(self) -> str:
        return f"Channel({self.spec.name!r}, {self.live!r}, {self.writer!r})"

    @property
    def name(self) -> str:
        return self.spec.name

    def file_fields(self) -> dict:
        """The ``hotcast:`` SigMF fields of this channel's files."""
        return file_fields(self.live, self.live.is_iq)

    # -- what goes on air ---------------------------------------------------------------------

    def offer(self, airset: AirSet, now: float) -> None:
        batch = self.spec.policy.delta_batch_s
        if (self._applied is not None and batch > 0
                and airset.key_material() == self._applied.key_material()
                and airset.lists() != self._applied.lists()
                and airset.first_edit_at is not None and now < airset.first_edit_at + batch):
            self._held = airset
            return
        self._apply(airset, now)

    def _apply(self, airset: AirSet, now: float) -> None:
        self._held = None
        self._applied = airset
        self.live.update(list(airset.bundles), int(now))
        items = [(b.kind, b.seq, len(b.sealed)) for b in self.live.bundles()]
        figures = air_figures(self.spec.profile, items, self.spec.policy)
        self._figures = (figures.cycle_s, figures.worst_wait_s)

    def next_due(self, now: float) -> float:
        """When this channel next has a frame to render (for a simulated clock)."""
        if self.writer.state != "on_air":
            return self.writer.retry_at if self.writer.state == "retrying" else float("inf")
        if self._held is not None:
            due = self._held.first_edit_at + self.spec.policy.delta_batch_s
        else:
            due = float("inf")
        if self.t0 is None:
            return min(due, self._created + START_GRACE_S) if self._applied is None else now
        k = self.live.next_frame
        return min(due, self.t0 + (self.live.frame_start_s(k) if k else 0.0) - self.ahead_s)

    # -- rendering ----------------------------------------------------------------------------

    def pump(self, now: float) -> None:
        """Render every frame that is due and hand it to the writer."""
        self.writer.poll(now)
        if self.writer.take_restart():
            self._restart(now)
        if self._held is not None and now >= self._held.first_edit_at + self.spec.policy.delta_batch_s:
            self._apply(self._held, now)
        if now - self._expired_at >= EXPIRE_EVERY_S:
            self.live.expire(int(now))
            self._expired_at = now
        if self.writer.state != "on_air" or self.stopping:
            return
        if self.t0 is None:
            if self._applied is None and now < self._created + START_GRACE_S:
                return
            self.t0 = now
        while not self.stopping:
            k = self.live.next_frame
            start = self.t0 + (self.live.frame_start_s(k) if k else 0.0)
            if self.paced_by_clock:
                if start - self.ahead_s > now or self.writer.queued_s >= self.max_queue_s:
                    break  # not due yet, or the output does not take what it has
                if now - start > MAX_BEHIND_S:
                    self._jump(now, start)
                    continue
            elif self.writer.queued_s >= self.ahead_s:
                break
            block = self.live.process(1)
            end = self.t0 + self.live.frame_start_s(k + 1)
            self.writer.put(block, start, end - start)
            self._report(block)
            if self.writer.state != "on_air":
                break

    def _jump(self, now: float, start: float) -> None:
        late = now - start
        self.skipped_s += late
        self.t0 += late
        self.log({"event": "behind", "channel": self.name, "late_s": round(late, 3),
                  "what": "the channel fell behind real time; it goes on from now"})

    def _restart(self, now: float) -> None:
        bundles = self.live.bundles()
        self.live.reset()
        self.live.update(bundles, int(now))
        self.t0 = now

    def _report(self, block: LiveBlock) -> None:
        for event in block.events:
            line = {"event": event.event, "channel": self.name, "kind": event.kind.name.lower(),
                    "seq": event.seq, "at": round(self.t0 + event.at_s, 3)}
            if event.event == "on_air":
                line["urgent"] = event.urgent
                line["latency_s"] = round(self.t0 + event.at_s - event.created_at, 3)
            else:
                line["why"] = event.why
            self.log(line)

    def finish(self) -> None:
        """Stop at the frame boundary: the frames queued go out, then the tails, then close."""
        self.stopping = True
        tail = None
        if self.t0 is not None and self.writer.state == "on_air":
            samples = self.live.flush()
            if np.asarray(samples).size:
                tail = LiveBlock(samples, self.live.next_frame, 0, 0, (), ())
        self.writer.finish(tail)

    # -- status -------------------------------------------------------------------------------

    def behind_s(self, now: float) -> float:
        if self.t0 is None or self.writer.state != "on_air":
            return 0.0
        if self.paced_by_clock:
            k = self.live.next_frame
            return max(0.0, now - (self.t0 + (self.live.frame_start_s(k) if k else 0.0)))
        return self.writer.behind_s(now)

    def status(self, now: float, stopped: bool = False) -> dict:
        on_air = [{"kind": b.kind.name.lower(), "epoch": keyset_epoch(b), "seq": b.seq}
                  for b in sorted(self.live.bundles(), key=lambda b: (int(b.kind), b.seq))]
        return {"name": self.name, "profile": self.spec.profile,
                "output": self.spec.output.describe(),
                "state": "stopped" if stopped else self.writer.state,
                "on_air": on_air, "behind_s": round(self.behind_s(now), 3),
                "last_error": self.writer.last_error,
                "cycle_s": round(self._figures[0], 3), "worst_wait_s": round(self._figures[1], 3)}
