"""receiver.radio.stages: the stage timer and the one-line split people read."""

from __future__ import annotations

import time

from receiver.radio.stages import STAGE_ORDER, StageTimer, format_stages, ordered


def test_timer_adds_the_cpu_of_each_call_to_its_stage():
    timer = StageTimer()

    def spin(n):
        return sum(i * i for i in range(n))

    t0 = time.process_time()
    assert timer.call("inner_decode", spin, 200_000) == sum(i * i for i in range(200_000))
    timer.call("inner_decode", spin, 10)
    timer.add("frame_sync", 0.25)
    assert 0 < timer.seconds["inner_decode"] <= time.process_time() - t0
    assert timer.seconds["frame_sync"] == 0.25


def test_a_failing_call_is_still_counted_and_raises():
    timer = StageTimer()
    try:
        timer.call("erasure_decode", int, "x")
    except ValueError:
        pass
    else:
        raise AssertionError("int('x') should raise")
    assert "erasure_decode" in timer.seconds


def test_ordered_puts_known_stages_in_pipeline_order_then_the_rest():
    got = ordered({"other": 1.0, "zzz": 2.0, "fm_demod": 3.0, "startup": 4.0})
    assert list(got) == ["startup", "fm_demod", "other", "zzz"]
    assert STAGE_ORDER[0] == "startup" and STAGE_ORDER[-1] == "other"


def test_one_line_gives_the_speed_and_each_share():
    line = format_stages({"startup": 0.5, "fm_demod": 1.5, "other": 0.5}, 60.0, 2.0)
    assert line == ("decoded 60.0 s of signal in 2.00 s of CPU (30.0x real time); startup 0.50 s; "
                    "fm_demod 1.50 s 75%, other 0.50 s 25%")


def test_one_line_without_cpu_time_does_not_divide_by_zero():
    line = format_stages({"input_read": 0.0}, 0.0, 0.0)
    assert "no CPU time measured" in line and "input_read 0.00 s" in line
