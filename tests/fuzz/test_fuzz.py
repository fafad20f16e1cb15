"""The fuzz harness over every parser a terminal exposes to the air or to files (issue 6).

Three layers, each parametrised over ``targets.TARGETS``:
- the kept inputs of ``corpus/<target>/`` replay (crashers found before, all fixed; a
  reproducer of an open finding in another owner's code, named after its ``Known`` entry,
  replays as a strict xfail until the fix lands);
- every target is fuzzed for ``--fuzz-fast-seconds`` (1.5 s) in the default run;
- ``-m fuzz`` fuzzes each for ``--fuzz-seconds`` (60 s unless told).
A run fails on any new finding (an exception that is not the target's typed error, a slow
input, memory beyond the bound), with a minimised reproducer in the message and the input
written under ``--fuzz-findings``.
"""

from __future__ import annotations

import fuzz_corpus
import fuzz_engine as fe
import pytest
from targets import TARGETS


def _targets():
    return [pytest.param(name, marks=[pytest.mark.skip(reason=t.skip)] if t.skip else [], id=name)
            for name, t in TARGETS.items()]


def _corpus():
    params = []
    for name, target in TARGETS.items():
        for path in fuzz_corpus.corpus_files(name):
            known = next((k for k in target.known if path.name.startswith(k.name)), None)
            marks = [pytest.mark.xfail(strict=True, reason=known.reason)] if known else []
            params.append(pytest.param(name, path, marks=marks, id=f"{name}/{path.name}"))
    return params


@pytest.mark.parametrize("name, path", _corpus())
def test_kept_input_is_handled(name, path):
    TARGETS[name].seeds()  # builds what the adapter caches, outside the timed run
    failure = fe.run_one(TARGETS[name], fuzz_corpus.read_corpus_file(path))
    assert failure is None, fuzz_corpus.describe(failure)


@pytest.mark.parametrize("name", _targets())
def test_seeds_are_valid_inputs(name):
    """A seed must pass, or the mutations start from something already broken."""
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds, f"{name} has no seeds"
    for seed in seeds:
        failure = fe.run_one(target, seed.data)
        assert failure is None or target.known_for(failure), fuzz_corpus.describe(failure)


def _fuzz(name: str, seconds: float, options: dict) -> None:
    if options["only"] and name not in options["only"]:
        pytest.skip("not among --fuzz-target")
    target = TARGETS[name]
    report = fe.fuzz(target, seconds, seed=options["seed"], use_coverage=options["coverage"])
    fe.REPORTS.append(report)
    if report.failures:
        texts = []
        for failure in report.failures:
            small = fe.minimize(target, failure)
            texts.append(fuzz_corpus.describe(small, fuzz_corpus.save_finding(small, options["findings"])))
        pytest.fail(f"{len(report.failures)} new finding(s) in {report.execs} inputs:\n"
                    + "\n".join(texts), pytrace=False)


@pytest.mark.parametrize("name", _targets())
def test_fuzz_bounded(name, fuzz_options):
    _fuzz(name, fuzz_options["fast_seconds"], fuzz_options)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", _targets())
def test_fuzz_long(name, fuzz_options):
    _fuzz(name, fuzz_options["seconds"], fuzz_options)
