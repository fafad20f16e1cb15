"""The bench result as a JSON document, as text for a terminal, and as one Markdown and one
HTML page (``--out DIR``: ``results.json``, ``report.md``, ``report.html``).

The HTML page is self-contained: the PNG plots are embedded as ``data:`` URIs and the style is
inline, so it opens offline and can be mailed as one file. The Markdown page links the PNGs
beside it.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from hotcast.bench.compare import FLOOR, QUICK_FLOOR, K, UNKNOWN_SPREAD
from hotcast.bench.model import Table
from hotcast.bench.runner import Result

SCHEMA = "hotcast-bench/1"
THRESHOLD_TEXT = (f"`--compare` counts a change when it exceeds max({FLOOR:.0%}, {K:g} x "
                  "sqrt(spread_old² + spread_new²)), each spread being the relative standard "
                  "deviation of the figure's repeats in its run (a figure measured once is "
                  f"given {UNKNOWN_SPREAD:.0%}; the floor is {QUICK_FLOOR:.0%} when either run "
                  "is --quick); the constants were chosen from pairs of runs of one commit, "
                  "see `hotcast.bench.compare`.")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def section_json(result: Result, out_dir: Path) -> dict:
    s = result.section
    return {"name": result.name, "title": s.title, "status": result.status,
            "seconds": round(result.seconds, 2),
            "figures": [f.to_json() for f in s.figures],
            "tables": [{"title": t.title, "columns": t.columns, "rows": t.rows, "note": t.note}
                       for t in s.tables],
            "plots": [_rel(p, out_dir) for p in s.plots],
            "notes": list(s.notes)}


def _rel(path: Path, out_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(out_dir).resolve()))
    except ValueError:
        return str(path)


def document(results: list[Result], out_dir: Path, *, meta: dict) -> dict:
    """The one JSON document: ``meta`` (schema, date, options, machine, versions, git, ...)
    then every section."""
    return {"schema": SCHEMA, **meta, "sections": [section_json(r, out_dir) for r in results]}


def finite(obj):
    """``obj`` with every NaN or infinity replaced by None (strict JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def dumps(doc: dict) -> str:
    return json.dumps(finite(doc), indent=1, default=str, allow_nan=False) + "\n"


# -- text for a terminal ---------------------------------------------------------------------
def text_table(t: dict | Table) -> list[str]:
    t = t if isinstance(t, dict) else {"title": t.title, "columns": t.columns, "rows": t.rows,
                                       "note": t.note}
    cells = [list(map(str, t["columns"]))] + [[_cell(c) for c in r] for r in t["rows"]]
    widths = [min(48, max(len(row[i]) for row in cells if i < len(row)))
              for i in range(len(cells[0]))]
    lines = [t["title"]]
    for n, row in enumerate(cells):
        lines.append("  " + "  ".join(c[:48].ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if t.get("note"):
        lines.append(f"  ({t['note']})")
    return lines


def text(doc: dict, *, plots: bool = True) -> str:
    """The report for a terminal; ``plots`` False leaves out the plot files (a run without
    ``--out`` drew them in a temporary folder, gone by now)."""
    lines = [f"hotcast bench, {doc.get('date')}, {doc['machine']['cpu']} "
             f"({doc['machine']['cores']} cores), commit {_commit(doc)}"]
    for s in doc["sections"]:
        if s["status"] == "skipped":
            continue
        lines.append("")
        lines.append(f"== {s['title']} [{s['status']}, {s['seconds']:.0f} s]")
        for t in s["tables"]:
            lines += text_table(t)
        for note in s["notes"]:
            lines.append(f"  note: {note}")
        for p in s["plots"] if plots else ():
            lines.append(f"  plot: {p}")
    return "\n".join(lines) + "\n"


def _commit(doc: dict) -> str:
    g = doc.get("git")
    if not g:
        return "(not a git checkout)"
    return g["commit"][:12] + (" + uncommitted changes" if g.get("dirty") else "")


# -- Markdown --------------------------------------------------------------------------------
def _md_table(t: dict) -> list[str]:
    esc = lambda v: _cell(v).replace("|", "\\|")  # noqa: E731
    lines = [f"**{t['title']}**", "", "| " + " | ".join(map(esc, t["columns"])) + " |",
             "|" + "---|" * len(t["columns"])]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in t["rows"]]
    if t.get("note"):
        lines += ["", f"_{t['note']}_"]
    return lines + [""]


def markdown(doc: dict, *, heading: str = "#") -> str:
    m = doc["machine"]
    lines = [f"{heading} hotcast bench report", "",
             f"- date: {doc.get('date')}; command: `{doc.get('command')}`",
             f"- machine: {m['cpu']}, {m['cores']} cores; BLAS: "
             f"{m.get('blas', {}).get('name')} {m.get('blas', {}).get('version') or ''}",
             f"- versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if v),
             f"- commit: {_commit(doc)}",
             f"- {THRESHOLD_TEXT}", ""]
    for s in doc["sections"]:
        if s["status"] == "skipped":
            continue
        lines += [f"{heading}# {s['title']}", ""]
        if s["status"] != "ok":
            lines += [f"_section {s['status']}_", ""]
        for t in s["tables"]:
            lines += _md_table(t)
        for p in s["plots"]:
            lines += [f"![{Path(p).stem}]({p})", ""]
        lines += [f"- {n}" for n in s["notes"]]
        if s["notes"]:
            lines.append("")
    return "\n".join(lines)


# -- HTML ------------------------------------------------------------------------------------
STYLE = """body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:90%}td,th{border:1px solid #bbb;
padding:.2em .5em;text-align:left}th{background:#eee}img{max-width:100%;border:1px solid #ddd}
.note{color:#555;font-size:90%}.bad{color:#a00}"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def html_page(doc: dict, out_dir: Path) -> str:
    e = html.escape
    m = doc["machine"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>hotcast bench "
             f"{e(str(doc.get('date')))}</title><style>{STYLE}</style></head><body>",
             "<h1>hotcast bench report</h1><ul>",
             f"<li>date: {e(str(doc.get('date')))}; command: <code>{e(str(doc.get('command')))}"
             "</code></li>",
             f"<li>machine: {e(m['cpu'])}, {m['cores']} cores; BLAS: "
             f"{e(str(m.get('blas', {}).get('name')))}</li>",
             "<li>versions: " + e(", ".join(f"{k} {v}" for k, v in doc["versions"].items() if v))
             + "</li>", f"<li>commit: {e(_commit(doc))}</li>",
             f"<li>{e(THRESHOLD_TEXT)}</li></ul>"]
    for s in doc["sections"]:
        if s["status"] == "skipped":
            continue
        parts.append(f"<h2>{e(s['title'])}</h2>")
        if s["status"] != "ok":
            parts.append(f"<p class='bad'>section {e(s['status'])}</p>")
        for t in s["tables"]:
            parts.append(f"<p><b>{e(t['title'])}</b></p><table><tr>"
                         + "".join(f"<th>{e(str(c))}</th>" for c in t["columns"]) + "</tr>")
            for r in t["rows"]:
                parts.append("<tr>" + "".join(f"<td>{e(_cell(c))}</td>" for c in r) + "</tr>")
            parts.append("</table>")
            if t.get("note"):
                parts.append(f"<p class='note'>{e(t['note'])}</p>")
        for p in s["plots"]:
            path = out_dir / p
            if path.is_file():
                parts.append(f"<p>{_img(path)}</p>")
        if s["notes"]:
            parts.append("<ul>" + "".join(f"<li class='note'>{e(n)}</li>" for n in s["notes"])
                         + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write(doc: dict, out_dir: Path) -> list[Path]:
    """results.json, report.md and report.html in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"results.json": dumps(doc), "report.md": markdown(doc),
             "report.html": html_page(doc, out_dir)}
    paths = []
    for name, body in files.items():
        path = out_dir / name
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths
