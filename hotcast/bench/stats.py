"""Repeats to figures: the median of the repeats and their relative spread.

``rel_spread`` is the sample standard deviation over the mean (ddof 1: two repeats already give
an estimate, if a rough one); ``--compare`` weighs every change against it.
"""

from __future__ import annotations

import statistics

from hotcast.bench.model import Better, Figure


def spread(values: list[float]) -> float | None:
    """Relative standard deviation of ``values``; None for fewer than two or a zero mean."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    if mean == 0:
        return None
    return statistics.stdev(values) / abs(mean)


def figure(key: str, values: list[float], unit: str, label: str,
           better: Better = None) -> Figure:
    """A figure from the repeats: the median value, its spread and the count."""
    if not values:
        raise ValueError(f"{key}: no values")
    return Figure(key=key, value=float(statistics.median(values)), unit=unit, label=label,
                  better=better, rel_spread=spread(values), repeats=len(values))


def fmt_num(value: float | None, digits: int = 3) -> str:
    """A number for a table: 3 significant digits, thousands kept whole."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"
