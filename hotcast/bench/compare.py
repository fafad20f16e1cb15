"""``hotcast bench --compare OLD.json``: what got better or worse beyond the noise.

The rule: a figure changed when its relative change ``new / old - 1`` exceeds

    threshold = max(FLOOR, K x sqrt(spread_old^2 + spread_new^2))

where each spread is the figure's ``rel_spread`` (relative standard deviation of its repeats in
that run; ``UNKNOWN_SPREAD`` when it was measured once), and the floor is ``FLOOR``, or
``QUICK_FLOOR`` when either run is ``--quick``. How the constants were chosen, from pairs of runs
of one commit on the 2-core development machine while other jobs shared it (so every flagged
figure there is a false alarm):

- ``K = 3``: for normal noise, a difference beyond 3 combined standard deviations happens well
  under 1 % of the time. With 2-3 repeats the spread is itself a rough estimate, and the repeats
  inside one run do not see the machine's drift between runs, so the floor matters as much.
- ``FLOOR = 10 %``: the smallest change the issue asks to see ("10 % slower"); on a quiet
  machine the repeats of a 20 s decode spread by 2-10 %, so the floor and 3 x that spread sit
  close together.
- ``QUICK_FLOOR = 20 %``: ``--quick`` (4 s captures, 2 repeats) swings more. Two quick runs of
  one commit flagged 20 of 76 figures at K = 3 and a 5 % floor (stage figures of a few tenths of
  a ms/s swung by half; stages under 10 % of the decode are now descriptive), 6 of 48 at a 10 %
  floor (changes of 11-21 %), and 1 of 48 at 20 %.
- No rule holds on a busy machine: two full runs of one commit, the second while other jobs
  kept a load average of ~5 on the 2 cores, moved the speed figures by 2-92 % (median 30 %; the
  two vCPUs share one physical core, so even CPU time inflates) and this rule flagged 24 of 48.
  Hence the load average each run records, and the note below.
- ``UNKNOWN_SPREAD = 15 %``: a figure measured once gets about half the worst run-to-run drift of
  whole-array numpy work noted in FIELD-NOTES (±30 %): such figures (start-up CPU, peak memory,
  time to protection) are flagged on a change of ~64 % or more.

A run records the load average at its start and end; when either run shared the machine, the
comparison says so first.

Figures with ``better`` None are descriptive and never flagged. Only figures in both runs are
compared; the rest are listed as new or gone. A different machine, Python or numpy is named
first: figures from two machines compare only as ratios, which the sections also report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

K = 3.0
FLOOR = 0.10
QUICK_FLOOR = 0.20  # when either run is --quick
UNKNOWN_SPREAD = 0.15
# A run whose load average (1 min, at its start or end) exceeds this many per core shared the
# machine with other work: compare says so, since the drift then exceeds the spreads.
BUSY_LOAD_PER_CORE = 0.5


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    unit: str
    old: float
    new: float
    change: float  # new / old - 1
    threshold: float
    verdict: str  # "better", "worse", "same"


def threshold(old_spread: float | None, new_spread: float | None,
              floor: float | None = None) -> float:
    a = UNKNOWN_SPREAD if old_spread is None else old_spread
    b = UNKNOWN_SPREAD if new_spread is None else new_spread
    return max(FLOOR if floor is None else floor, K * math.hypot(a, b))


def judge(old: dict, new: dict, floor: float | None = None) -> Change | None:
    """One figure (the JSON of ``Figure``) in two runs; None when it cannot be judged (zero
    or missing value, or no direction)."""
    if old.get("better") is None or new.get("better") is None:
        return None
    a, b = old.get("value"), new.get("value")
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a == 0:
        return None
    if not (math.isfinite(a) and math.isfinite(b)):
        return None
    change = b / a - 1
    thr = threshold(old.get("rel_spread"), new.get("rel_spread"), floor)
    verdict = "same"
    if abs(change) > thr:
        up = change > 0
        verdict = "better" if up == (new["better"] == "higher") else "worse"
    return Change(new["key"], new.get("label", new["key"]), new.get("unit", ""), a, b, change,
                  thr, verdict)


def figures_of(doc: dict) -> dict[str, dict]:
    return {f["key"]: f for s in doc.get("sections", []) for f in s.get("figures", [])}


def context_differences(old: dict, new: dict) -> list[str]:
    out = []
    for what, path in (("CPU", ("machine", "cpu")), ("cores", ("machine", "cores")),
                       ("Python", ("versions", "python")), ("numpy", ("versions", "numpy")),
                       ("scipy", ("versions", "scipy")),
                       ("creedsolo", ("versions", "creedsolo"))):
        a, b = old, new
        for p in path:
            a = a.get(p) if isinstance(a, dict) else None
            b = b.get(p) if isinstance(b, dict) else None
        if a != b:
            out.append(f"{what} differs: {a} -> {b}")
    if old.get("options", {}).get("quick") != new.get("options", {}).get("quick"):
        out.append("one run is --quick and the other is not: shorter captures, fewer repeats")
    for name, doc in (("old", old), ("new", new)):
        m = doc.get("machine", {})
        loads = [x for x in (m.get("load_start"), m.get("load_end")) if isinstance(x, (int, float))]
        cores = m.get("usable_cores") or m.get("cores") or 1
        if loads and max(loads) > BUSY_LOAD_PER_CORE * cores:
            out.append(f"the {name} run shared the machine (load average up to {max(loads):.1f} "
                       f"on {cores} cores): CPU figures drift beyond their spreads")
    return out


def floor_for(old: dict, new: dict) -> float:
    quick = any(d.get("options", {}).get("quick") for d in (old, new))
    return QUICK_FLOOR if quick else FLOOR


def compare(old: dict, new: dict) -> dict:
    """``{"changes": [Change...] (flagged first), "new": [keys], "gone": [keys], "context":
    [differences]}``."""
    a, b = figures_of(old), figures_of(new)
    floor = floor_for(old, new)
    changes = [c for k in b if k in a if (c := judge(a[k], b[k], floor)) is not None]
    changes.sort(key=lambda c: (c.verdict == "same", -abs(c.change)))
    return {"changes": changes, "new": sorted(set(b) - set(a)), "gone": sorted(set(a) - set(b)),
            "context": context_differences(old, new), "floor": floor}


def describe(result: dict, old_name: str) -> list[str]:
    """Lines for a person: the flagged changes, then a count of the rest."""
    lines = [f"compared with {old_name} (a change counts beyond max({result['floor']:.0%}, "
             f"{K:g} x combined spread))"]
    lines += [f"  note: {d}" for d in result["context"]]
    flagged = [c for c in result["changes"] if c.verdict != "same"]
    for c in flagged:
        word = {"better": "BETTER", "worse": "WORSE"}[c.verdict]
        lines.append(f"  {word:<6} {c.label}: {c.old:.4g} -> {c.new:.4g} {c.unit} "
                     f"({c.change:+.1%}, threshold {c.threshold:.1%})")
    same = len(result["changes"]) - len(flagged)
    lines.append(f"  {len(flagged)} changed beyond the noise, {same} within it"
                 + (f"; {len(result['new'])} new" if result["new"] else "")
                 + (f"; {len(result['gone'])} gone" if result["gone"] else ""))
    return lines


def to_json(result: dict) -> dict:
    return {**result, "changes": [c.__dict__ for c in result["changes"]]}
