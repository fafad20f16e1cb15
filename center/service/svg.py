"""Charts for the operator page as inline SVG (no script, no resource from anywhere).

``bars`` draws labelled horizontal bars (entries by reason), ``line`` a step line of the list
size after each bundle, ``columns`` two series per day (listed, reinstated). Every text is
escaped; sizes are in SVG user units (the page scales the drawing to its box). Colours come
from the page's style sheet (classes ``bar``, ``line``, ``listed``, ``reinstated``, ``axis``).
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH = 320  # about the width the page gives a chart, so 11-unit text reads as 11 px
ROW_H = 22


def _svg(height: int, parts: list[str], title: str) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
                  f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
                  f'<title>{escape(title)}</title>{"".join(parts)}</svg>')


def bars(pairs: list[tuple[str, int]], title: str) -> Markup:
    """One labelled bar per (label, count)."""
    top = max([v for _, v in pairs] + [1])
    label_w, count_w = 56, 64
    span = WIDTH - label_w - count_w
    parts = []
    for i, (label, value) in enumerate(pairs):
        y = i * ROW_H
        w = round(span * value / top, 1)
        parts.append(f'<text class="label" x="0" y="{y + 15}">{escape(label)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w}" '
                     f'height="{ROW_H - 6}">'
                     f'<title>{escape(label)}: {value}</title></rect>'
                     f'<text class="count" x="{label_w + w + 6}" y="{y + 15}">{value:,}</text>')
    return _svg(max(1, len(pairs)) * ROW_H, parts, title)


def line(points: list[tuple[int, int]], title: str, height: int = 160) -> Markup:
    """A step line through (time, value) points, oldest first, with the range as text."""
    if not points:
        return _svg(40, ['<text class="label" x="0" y="24">no list built yet</text>'], title)
    t0, t1 = points[0][0], max(points[-1][0], points[0][0] + 1)
    top = max(max(v for _, v in points), 1)
    plot_h = height - 30
    xy = []
    for t, v in points:
        x = round((WIDTH - 10) * (t - t0) / (t1 - t0) + 5, 1)
        y = round(5 + plot_h * (1 - v / top), 1)
        if xy:
            xy.append(f"{x},{xy[-1].split(',')[1]}")
        xy.append(f"{x},{y}")
    parts = [f'<line class="axis" x1="5" y1="{plot_h + 5}" x2="{WIDTH - 5}" y2="{plot_h + 5}"/>',
             f'<polyline class="line" points="{" ".join(xy)}"/>',
             f'<text class="label" x="5" y="{height - 6}">max {top:,} entries, '
             f'{len(points)} lists</text>']
    return _svg(height, parts, title)


def columns(days: list[dict], title: str, height: int = 140) -> Markup:
    """Per day, a ``listed`` column and a ``reinstated`` one."""
    if not days:
        return _svg(40, [], title)
    top = max([max(d["listed"], d["reinstated"]) for d in days] + [1])
    plot_h = height - 30
    step = (WIDTH - 10) / len(days)
    parts = [f'<line class="axis" x1="5" y1="{plot_h + 5}" x2="{WIDTH - 5}" y2="{plot_h + 5}"/>']
    for i, d in enumerate(days):
        for j, key in enumerate(("listed", "reinstated")):
            h = round(plot_h * d[key] / top, 1)
            x = round(5 + i * step + j * step / 2, 1)
            parts.append(f'<rect class="{key}" x="{x}" y="{plot_h + 5 - h}" '
                         f'width="{max(round(step / 2 - 1, 1), 0.5)}" height="{h}">'
                         f'<title>{escape(d["day"])}: {d[key]} {key}</title></rect>')
    parts.append(f'<text class="label" x="5" y="{height - 6}">{escape(days[0]["day"])} .. '
                 f'{escape(days[-1]["day"])}, up to {top:,} a day</text>')
    return _svg(height, parts, title)
