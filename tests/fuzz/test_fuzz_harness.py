"""The harness judges inputs by its three rules and counts known findings (self-tests)."""

from __future__ import annotations

import numpy as np
import pytest

import fuzz_engine as fe
import fuzz_mutate


class _Typed(Exception):
    pass


class _Panic(BaseException):
    """Like pyo3's PanicException: a BaseException, not an Exception."""


def _target(run, **kw) -> fe.Target:
    kw.setdefault("accept", (_Typed,))
    return fe.Target("selftest", run, lambda: [fe.Seed(b"\x00\x01\x02\x03", (fe.Field(0, 4),))], **kw)


def _raise(exc):
    def run(data):
        raise exc
    return run


def test_a_typed_error_and_a_return_pass():
    assert fe.run_one(_target(lambda d: None), b"") is None
    assert fe.run_one(_target(_raise(_Typed("bad input"))), b"") is None


@pytest.mark.parametrize("exc, name", [(_Panic("boom"), "_Panic"), (RecursionError("deep"), "RecursionError"),
                                       (OverflowError("big"), "OverflowError"), (SystemExit(3), "SystemExit")])
def test_anything_else_is_a_finding_base_exceptions_included(exc, name):
    failure = fe.run_one(_target(_raise(exc)), b"xy")
    assert failure.kind == "exception" and failure.exception == name and failure.data == b"xy"
    assert "test_fuzz_harness.py" in failure.where


def test_keyboard_interrupt_still_stops_the_run():
    with pytest.raises(KeyboardInterrupt):
        fe.run_one(_target(_raise(KeyboardInterrupt())), b"")


def test_a_runaway_loop_is_cut_at_the_hard_cap_and_reported_slow():
    def spin(data):
        while True:
            pass
    failure = fe.run_one(_target(spin, time_bound_s=0.05), b"")
    assert failure.kind == "slow" and "hard cap" in failure.what


def test_a_slow_input_is_reported():
    def slow(data):
        x = 0
        for i in range(3_000_000):
            x += i
    failure = fe.run_one(_target(slow, time_bound_s=0.01), b"")
    assert failure is not None and failure.kind == "slow"


def test_memory_beyond_the_bound_is_reported():
    def hungry(data):
        np.ones(16 << 20, np.uint8)  # 16 MiB
    assert fe.run_one(_target(hungry, memory_bound_bytes=32 << 20), b"") is None
    failure = fe.run_one(_target(hungry, memory_bound_bytes=8 << 20), b"")
    assert failure.kind == "memory" and "16 MiB" in failure.what


def test_known_findings_are_counted_and_new_ones_reported():
    def run(data):
        if data[:1] == b"\x00":
            raise _Panic("known")
        if len(data) > 6:
            raise ValueError("new")
    known = fe.Known("panic", "owner fixes", kind="exception", exception="_Panic")
    report = fe.fuzz(_target(run, known=(known,)), seconds=5, seed=1, max_execs=400)
    assert report.known_hits["panic"] > 0 and report.known_first["panic"].exception == "_Panic"
    assert [f.exception for f in report.failures] == ["ValueError"]  # distinct signatures only


def test_the_fuzzer_is_deterministic_for_a_seed():
    seen: list[list[bytes]] = [[], []]
    for run in seen:
        fe.fuzz(_target(lambda d, run=run: run.append(d)), seconds=5, seed=7, max_execs=200,
                use_coverage=False)
    assert seen[0] == seen[1] and len(set(seen[0])) > 50


def test_structure_aware_mutation_sets_fields_to_boundaries():
    import random
    rng = random.Random(0)
    seed = fe.Seed(bytes(8), (fe.Field(2, 4),))
    values = {int.from_bytes(fuzz_mutate._apply(rng, fuzz_mutate._set_field, seed)[2:6], "big")
              for _ in range(300)}
    assert {0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1} <= values


def test_minimize_shrinks_while_the_failure_reproduces():
    def run(data):
        if b"\xde\xad" in data:
            raise _Panic("found")
    target = _target(run)
    failure = fe.run_one(target, b"x" * 300 + b"\xde\xad" + b"y" * 300)
    assert fe.minimize(target, failure).data == b"\xde\xad"
