"""The types every bench section shares: a measured figure, a table, a section, the context.

A ``Figure`` is one number a user may compare across commits and machines: it has a stable
``key`` (``"speed.fm.iq.x_realtime"``), a unit, which direction is better, and the spread of
its repeats (``rel_spread``: the relative standard deviation, or None when it was measured once)
so that ``--compare`` can tell a change from noise. Tables and plots are for the report only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Better = Literal["higher", "lower"] | None


@dataclass(frozen=True)
class Figure:
    key: str  # stable, dotted: section.profile.input.quantity
    value: float
    unit: str  # "x", "bit/s", "bit/cpu-s", "s", "MB", "dB", ...
    label: str  # what a reader sees in a table
    better: Better = None  # None: descriptive only, never flagged by --compare
    rel_spread: float | None = None  # relative std of the repeats; None if measured once
    repeats: int = 1

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list]  # cells: str, int, float or None (shown as "-")
    note: str = ""


@dataclass
class Section:
    name: str  # "speed", "stages", "link", "peers", "ttp", ...
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)  # PNG files inside the output folder
    notes: list[str] = field(default_factory=list)  # what a reader must know (a missing peer)


@dataclass
class BenchContext:
    quick: bool  # the whole run well under a minute
    out_dir: Path  # plots go here (a temporary folder when --out is not given)
    progress: Callable[[str], None] = lambda _step: None  # one call per step done
    seed: int = 1
    work_dir: Path | None = None  # scratch space for captures and homes (None: a temp folder)
    cache: dict = field(default_factory=dict)  # what sections share in one run (the captures)
    options: dict = field(default_factory=dict)  # section options from the command line
