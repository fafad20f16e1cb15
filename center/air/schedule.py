"""What a plan puts on air and when: ``schedule_rows(plan, home, now, hours)``.

One row per event, per channel, ordered by time (then the plan's channel order), each a dict
with at least ``channel``, ``at`` (unix seconds), ``what`` (a sentence), ``kind`` and ``seq``
(None where no number is known yet: a list not built yet gets its number when it is built):

- at ``now``, one ``cycle`` row per channel (``cycle_s``: every block of everything once;
  ``worst_wait_s``: a terminal that tunes in now has everything), one row per bundle on air
  (``period_s`` between its whole repeats, ``wait_s`` until a terminal has it), and the
  ``delta`` rule (a registry change goes on air within ``wait_s`` at worst);
- ahead, until ``now + hours``: full-list rebuilds (``full_every``, before expiry), master
  rolls (on air ``lead`` before they take effect, then the full list re-sealed under the new
  key), imported key sets (on air ``lead`` before ``valid_from``, a full list when they take
  effect), every heartbeat, and a list expiry no rebuild prevents.

This is the scheduler's own rule book (``center.air.scheduler``) run forward in time without
writing anything; heartbeats and announcements are sized, not signed (no passphrase needed).
Pure: reads the home, never changes it; the HTTP service calls it as ``schedule --show`` does.
"""

from __future__ import annotations

from center.air.plan import ChannelPlan, Plan
from center.air.policy import air_figures, blocks_of
from center.registry.home import CenterHome
from crypto import SIGNED_OVERHEAD_BYTES, BundleKind, MetadataType
from framing import AnnouncedBundle, encode_announcement, frame_config
from framing import bundle_digest as frame_digest

MAX_HOURS = 24 * 366
_FAR_FUTURE = 2**40
_LISTS = (BundleKind.FULL, BundleKind.DELTA)


def schedule_rows(plan: Plan, home: CenterHome, now: int, hours: float) -> list[dict]:
    """The schedule of ``plan`` over ``[now, now + hours]`` (module docstring)."""
    if not 0 < hours <= MAX_HOURS:
        raise ValueError(f"hours must be above 0 and at most {MAX_HOURS}, got {hours!r}")
    end = now + hours * 3600
    items = home.carousel(now)
    keyset = home.keyset(now)
    events = _center_events(plan, home, items, keyset, now, end)
    rows = []
    for channel in plan.channels:
        rows += _now_rows(channel, items, home, plan, now)
        rows += [{"channel": channel.name, **e} for e in events]
    rows.sort(key=lambda r: r["at"])  # stable: channels in plan order at one time
    return rows


def _sizes(items: list) -> list[tuple]:
    """(kind, seq, bytes) of what goes on air: the carousel, a heartbeat, an announcement."""
    out = [(b.kind, b.seq, len(b.sealed)) for b in items]
    lists = [b for b in items if b.kind in _LISTS]
    if lists:
        head = max(b.seq for b in lists)
        out.append((BundleKind.HEARTBEAT, head, SIGNED_OVERHEAD_BYTES))
        named = [AnnouncedBundle(int(b.kind), b.seq, frame_digest(b.sealed), len(b.sealed))
                 for b in items]
        out.append((BundleKind.ANNOUNCE, 1, SIGNED_OVERHEAD_BYTES + len(encode_announcement(named))))
    return out


def _now_rows(channel: ChannelPlan, items: list, home: CenterHome, plan: Plan,
              now: int) -> list[dict]:
    upcoming = [b for b in home.carousel(now + round(plan.keys.lead_s))
                if b.kind in (MetadataType.KEY_SET, MetadataType.ROOT_SET)
                and (b.kind, b.seq) not in {(i.kind, i.seq) for i in items}]
    sizes = _sizes(items + upcoming)
    base = {"channel": channel.name, "at": now}
    if not sizes:
        return [{**base, "what": "nothing on air yet: no key set or no list", "kind": "cycle",
                 "seq": None, "cycle_s": None, "worst_wait_s": None}]
    figures = air_figures(channel.profile, sizes, channel.policy)
    rows = [{**base, "kind": "cycle", "seq": None, "cycle_s": round(figures.cycle_s, 3),
             "worst_wait_s": round(figures.worst_wait_s, 3),
             "what": f"cycle {figures.cycle_s:.1f} s; a terminal that tunes in now has "
                     f"everything within {figures.worst_wait_s:.1f} s"}]
    for f in figures.items:
        name = f.kind.name.lower()
        rows.append({**base, "kind": name, "seq": f.seq, "bytes": f.bytes, "blocks": f.blocks,
                     "period_s": round(f.period_s, 3), "wait_s": round(f.wait_s, 3),
                     "what": f"{name} {f.seq} on air: {f.bytes} B in {f.blocks} frames, whole "
                             f"every {f.period_s:.1f} s ({100 * f.fraction:.1f} % of the air)"})
    rows.append(_delta_rule(channel, plan, items))
    rows[-1].update(base)
    return rows


def _delta_rule(channel: ChannelPlan, plan: Plan, items: list) -> dict:
    """How soon a registry change is on this channel: poll, build (not counted), batch, ahead,
    the frame in progress, the delta's own frames (it cuts in at the next boundary)."""
    config = frame_config(channel.profile)
    fulls = [b for b in items if b.kind is BundleKind.FULL]
    deltas = [b for b in items if b.kind is BundleKind.DELTA]
    nbytes = len(deltas[-1].sealed) if deltas else 300  # a one-card delta is ~250 B
    k, n = blocks_of(nbytes, config)
    frame_s = air_figures(channel.profile, [], channel.policy).frame_s
    wait = (plan.serve.poll_s + channel.policy.delta_batch_s + channel.policy.ahead_s
            + (1 + k) * frame_s)
    base = f"from full {fulls[-1].seq}" if fulls else "once a full list exists"
    return {"kind": "delta", "seq": None, "wait_s": round(wait, 3),
            "what": f"each registry change: a delta {base} cuts in at the next frame boundary, "
                    f"{n} frames x {channel.policy.delta_repeats}; a listening terminal has it "
                    f"within {wait:.1f} s (batch {channel.policy.delta_batch_s:g} s)"}


def _center_events(plan: Plan, home: CenterHome, items: list, keyset, now: int,
                   end: float) -> list[dict]:
    """Builds, rolls, key sets, heartbeats and expiries of the whole center in the window."""
    events: list[dict] = []
    if keyset is None:
        return [{"at": now, "kind": "warning", "seq": None,
                 "what": "no key set in force: nothing goes on air until one is imported"}]
    lists = [b for b in items if b.kind in _LISTS]
    head = max((b.seq for b in lists), default=None)
    fulls = [b for b in items if b.kind is BundleKind.FULL]
    rolls = [b for b in items if b.kind is BundleKind.MASTER_ROLL]
    lp, kp = plan.lists, plan.keys
    # master rolls, each on air lead before it takes effect, then the full list re-sealed
    last = max((b.created_at for b in rolls), default=keyset.valid_from)
    next_id = max((b.announces_key or b.seq for b in rolls), default=keyset.master_ids.lo) + 1
    roll_times = []
    if kp.roll_master_every_s is not None:
        t = last + kp.roll_master_every_s
        while t <= end:
            roll_times.append(max(t, now))
            t = max(t, now) + kp.roll_master_every_s
    roll_times += [max(d - kp.lead_s, now) for d in kp.roll_master_at
                   if d - kp.lead_s > last and d - kp.lead_s <= end]
    effects = []
    for t in sorted(roll_times):
        events.append({"at": int(t), "kind": "master_roll", "seq": next_id,
                       "what": f"master key {next_id} rolled and on air (takes effect "
                               f"{kp.lead_s:g} s later)"})
        effects.append((t + kp.lead_s, f"master key {next_id} takes effect"))
        next_id += 1
    # key sets imported ahead of time
    newest = home.keyset(_FAR_FUTURE)
    for version in range(keyset.version + 1, (newest.version if newest else 0) + 1):
        future = _keyset_version(home, version)
        if future is None:
            continue
        events.append({"at": int(max(now, future.valid_from - kp.lead_s)), "kind": "key_set",
                       "seq": version, "what": f"key set v{version} on air (takes effect at "
                                               f"{future.valid_from})"})
        effects.append((future.valid_from, f"key set v{version} takes effect"))
    # full lists: periodic, before expiry, and at each effect
    fulls_at = [(t, why) for t, why in effects if now <= t <= end]
    if not fulls:
        fulls_at.append((now, "first list of the epoch"))
    else:
        t = fulls[-1].created_at + lp.full_every_s
        while t <= end:
            fulls_at.append((max(t, now), f"full_every {lp.full_every_s:g} s"))
            t = max(t, now) + lp.full_every_s
        newest_list = max(lists, key=lambda b: b.seq)
        refresh = newest_list.valid_until - lp.refresh_before_s
        if refresh < fulls[-1].created_at + lp.full_every_s and refresh <= end:
            fulls_at.append((max(refresh, now), f"seq {newest_list.seq} expires at "
                                                f"{newest_list.valid_until}"))
    for t, why in sorted(fulls_at):
        events.append({"at": int(t), "kind": "full", "seq": None,
                       "what": f"full list rebuilt ({why})"})
    # heartbeats
    if head is not None:
        t = float(now)
        while t <= end:
            events.append({"at": int(t), "kind": "heartbeat", "seq": head,
                           "what": f"heartbeat: list seq {head} is current"})
            t += lp.heartbeat_every_s
    return events


def _keyset_version(home: CenterHome, version: int):
    """The imported key set of ``version`` (probing ``keyset`` at its own valid_from)."""
    t = home.keyset(_FAR_FUTURE)
    while t is not None and t.version > version:
        t = home.keyset(t.valid_from - 1)
    return t if t is not None and t.version == version else None
