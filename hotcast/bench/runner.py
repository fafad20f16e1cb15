"""The section runner: each section is a module ``hotcast.bench.<name>`` with
``run(ctx: BenchContext) -> Section``, run in ``SECTIONS`` order.

A section that raises becomes a ``failed`` result with the error as a note (the run goes on;
an exception with a ``section`` attribute keeps what that section measured before failing);
a section whose module is not in this build (``link`` and ``peers`` until they are merged, or a
plain install without them) is ``missing``; one the options leave out is ``skipped``. Nothing
here knows what a section measures.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from hotcast.bench.model import BenchContext, Section

SECTIONS = ["speed", "stages", "memory", "acquisition", "ttp", "link", "peers", "suite"]
# Sections a --quick run leaves out (the pytest-benchmark suite takes minutes).
NOT_QUICK = {"suite"}
PACKAGE = "hotcast.bench"


@dataclass
class Result:
    name: str
    status: str  # "ok", "failed", "missing", "skipped"
    section: Section
    seconds: float = 0.0


def load_section(name: str) -> ModuleType | None:
    """The section's module, or None when this build has no such module (an import error
    inside a module that exists is not hidden: it fails the section)."""
    full = f"{PACKAGE}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise


def parse_only(text: str | None, known: list[str] = SECTIONS) -> list[str]:
    """``--only a,b``: the names, in ``known`` order; ValueError naming an unknown one."""
    if text is None:
        return list(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ValueError(f"--only {text!r}: unknown section(s) {', '.join(bad) or '(none)'}; "
                         f"sections: {', '.join(known)}")
    return [n for n in known if n in names]


def run_sections(names: list[str], ctx: BenchContext, *, wanted: list[str] | None = None,
                 loader: Callable[[str], ModuleType | None] = load_section,
                 on_start: Callable[[str], None] = lambda _n: None) -> list[Result]:
    """Run ``wanted`` (default all of ``names``) in ``names`` order; the others are
    ``skipped``."""
    wanted = list(names) if wanted is None else wanted
    results = []
    for name in names:
        if name not in wanted:
            results.append(Result(name, "skipped", Section(name, name)))
            continue
        on_start(name)
        t0 = time.perf_counter()
        try:
            module = loader(name)
            if module is None:
                results.append(Result(name, "missing", Section(name, name, notes=[
                    f"section {name!r} is not in this build (no module {PACKAGE}.{name})"])))
                continue
            section = module.run(ctx)
            if not isinstance(section, Section):
                raise TypeError(f"{name}.run returned {type(section).__name__}, not a Section")
            results.append(Result(name, "ok", section, time.perf_counter() - t0))
        except Exception as exc:  # a section's failure is reported, never ends the run
            where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            at = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
            partial = getattr(exc, "section", None)  # what a section measured before failing
            section = partial if isinstance(partial, Section) else Section(name, name)
            section.notes.append(f"section {name!r} failed: {type(exc).__name__}: {exc}{at}")
            results.append(Result(name, "failed", section, time.perf_counter() - t0))
    return results
