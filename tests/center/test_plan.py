"""The serve plan: every bad plan refused naming file, line and field; the example and the
default plans; durations and key locations as properties."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from center.air.plan import DEFAULT_PLAN, load_plan, parse_plan, plan_path
from center.air.plan_toml import KeyLines, PlanError, parse_duration, parse_utc
from center.air.policy import DEFAULT_PRIORITY

GOOD = """\
[lists]
valid = "12h"
heartbeat_every = "30s"

[keys]
lead = "1h"
roll_master_every = "30d"

[policy]
delta_repeats = 2

[[channels]]
name = "exciter"
profile = "fm"
rate = 192000
output = { kind = "sound-card", device = 3 }

[[channels]]
name = "counter"
profile = "ir"
output = { kind = "ir-files", dir = "ir" }
[channels.policy]
full_every = "10m"
delta_batch = "2s"
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    return load_plan(path, tmp_path)


def refused(tmp_path: Path, text: str) -> PlanError:
    with pytest.raises(PlanError) as err:
        load(tmp_path, text)
    assert str(err.value).startswith(f"{tmp_path / 'serve.toml'}:")
    return err.value


def test_a_good_plan_is_read_whole(tmp_path: Path) -> None:
    plan = load(tmp_path, GOOD)
    assert plan.lists.valid_s == 12 * 3600 and plan.lists.heartbeat_every_s == 30
    assert plan.keys.lead_s == 3600 and plan.keys.roll_master_every_s == 30 * 86_400
    exciter, counter = plan.channels
    assert exciter.output.kind == "sound-card" and exciter.output.device == 3
    assert exciter.output.rate_hz == 192_000 and exciter.policy.delta_repeats == 2
    assert exciter.policy.full_every_s is None and exciter.policy.priority == DEFAULT_PRIORITY
    assert counter.output.dir == (tmp_path / "ir").resolve() and counter.output.rate_hz is None
    assert counter.policy.full_every_s == 600 and counter.policy.delta_batch_s == 2
    assert counter.policy.delta_repeats == 2  # inherited from [policy]
    assert plan.min_delta_batch_s == 0


@pytest.mark.parametrize("text, line, field, words", [
    # a missing field
    ('[[channels]]\nname = "a"\noutput = "sound-card"\n', 1, "channels[0]", "missing 'profile'"),
    ('[lists]\nvalid = "1h"\n', 1, "channels", "no [[channels]]"),
    # an unknown profile
    ('[[channels]]\nname = "a"\nprofile = "am"\noutput = "sound-card"\n', 3,
     "channels[0].profile", "unknown profile 'am'"),
    # an unknown key (a typo must not pass silently)
    ('[lists]\nhearbeat_every = "10s"\n[[channels]]\nname = "a"\nprofile = "fm"\n'
     'output = "sound-card"\n', 2, "lists.hearbeat_every", "unknown key"),
    ('[[channels]]\nname = "a"\nprofile = "fm"\noutput = { kind = "files", dir = "x", '
     'seconds = 5 }\n', 4, "channels[0].output.seconds", "unknown key"),
    # bad values
    ('[lists]\nvalid = "forever"\n[[channels]]\nname = "a"\nprofile = "fm"\n'
     'output = "sound-card"\n', 2, "lists.valid", "want a duration"),
    ('[[channels]]\nname = "a"\nprofile = "audio"\nrate = 44100\noutput = "sound-card"\n', 4,
     "channels[0].rate", "transmits at"),
    ('[[channels]]\nname = "a"\nprofile = "audio"\noutput = { kind = "stream", format = "cu8" }\n',
     4, "channels[0].output.format", "not carried on FM"),
    ('[[channels]]\nname = "a"\nprofile = "fm"\noutput = "ir-files"\n', 4,
     "channels[0].output.kind", "ir-files carry infrared"),
    ('[policy]\npriority = ["full", "keys", "deltas", "heartbeat", "announce"]\n[[channels]]\n'
     'name = "a"\nprofile = "fm"\noutput = "sound-card"\n', 2, "policy.priority", "full must come last"),
    ('[[channels]]\nname = "a"\nprofile = "fm"\ninjection = 0.9\noutput = "sound-card"\n', 4,
     "channels[0].injection", "level 0.9"),
    ('[keys]\nroll_master_at = [2027-01-01T00:00:00]\n[[channels]]\nname = "a"\nprofile = "fm"\n'
     'output = "sound-card"\n', 2, "keys.roll_master_at", "no UTC offset"),
    # two channels on one device
    ('[[channels]]\nname = "a"\nprofile = "fm"\noutput = { kind = "sound-card", device = 2 }\n'
     '[[channels]]\nname = "b"\nprofile = "audio"\noutput = { kind = "sound-card", device = 2 }\n',
     8, "channels[1].output", "two channels cannot share"),
    ('[[channels]]\nname = "a"\nprofile = "fm"\noutput = "sound-card"\n'
     '[[channels]]\nname = "a"\nprofile = "ir"\noutput = { kind = "ir-files", dir = "d" }\n',
     6, "channels[1].name", "already used"),
    # a TOML syntax error
    ('[[channels]]\nname = "a\nprofile = "fm"\n', 2, "(syntax)", ""),
])
def test_a_wrong_plan_is_refused_naming_file_line_and_field(tmp_path, text, line, field, words) -> None:
    err = refused(tmp_path, text)
    assert (err.line, err.field) == (line, field), str(err)
    assert words in str(err)


def test_an_output_that_cannot_be_opened_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    err = refused(tmp_path, '[[channels]]\nname = "a"\nprofile = "ir"\n'
                            'output = { kind = "ir-files", dir = "plain/x" }\n')
    assert (err.line, err.field) == (4, "channels[0].output.dir") and "not a folder" in str(err)
    err = refused(tmp_path, '[[channels]]\nname = "a"\nprofile = "fm"\n'
                            'output = { kind = "stream", path = "nofifo" }\n')
    assert err.field == "channels[0].output.path" and "mkfifo" in str(err)
    err = refused(tmp_path, '[[channels]]\nname = "a"\nprofile = "fm"\n'
                            'output = { kind = "stream", path = "plain" }\n')
    assert "not a FIFO" in str(err)
    os.mkfifo(tmp_path / "fifo")
    plan = load(tmp_path, '[[channels]]\nname = "a"\nprofile = "fm"\nrate = 2000000\n'
                          'output = { kind = "stream", path = "fifo", format = "cs8" }\n')
    assert plan.channels[0].output.iq and plan.channels[0].output.rate_hz == 2_000_000


def test_a_plan_that_is_not_utf8_or_missing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "serve.toml").write_bytes(b"[lists]\nvalid = \"\xff\"\n")
    with pytest.raises(PlanError) as err:
        load_plan(tmp_path / "serve.toml", tmp_path)
    assert err.value.line == 2
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "absent.toml", tmp_path)


def test_the_default_and_the_example_plans(tmp_path: Path) -> None:
    assert plan_path(tmp_path, None) is None
    plan = load_plan(None, tmp_path)
    assert plan.path == "<built-in default plan>" and "fm" in DEFAULT_PLAN
    (only,) = plan.channels
    assert (only.profile, only.output.kind, only.output.format) == ("fm", "files", "wav")
    assert only.output.dir == (tmp_path / "serve" / "air").resolve()
    assert only.output.keep_files == 10 and only.output.file_seconds == 60
    from center.air.plan import example_plan_text

    (tmp_path / "serve.toml").write_text(example_plan_text())
    assert plan_path(tmp_path, None) == tmp_path / "serve.toml"
    example = load_plan(plan_path(tmp_path, None), tmp_path)
    assert [c.name for c in example.channels] == ["exciter", "counter"]
    assert example.channels[0].policy.full_every_s == 600
    assert example.keys.roll_master_every_s == 90 * 86_400


@given(st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h", "d", "w"]))
def test_durations_in_every_unit(n: int, unit: str) -> None:
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}[unit]
    assert parse_duration(f"{n}{unit}") == pytest.approx(n * scale)
    assert parse_duration(n) == n


@given(st.text(max_size=12))
def test_a_duration_is_a_number_of_seconds_or_refused(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert "duration" in str(exc)
    else:
        assert value >= 0


def test_utc_times() -> None:
    assert parse_utc("2027-01-01T00:00:00Z") == 1_798_761_600
    import datetime as dt

    assert parse_utc(dt.date(2027, 1, 1)) == 1_798_761_600
    with pytest.raises(ValueError, match="offset"):
        parse_utc(dt.datetime(2027, 1, 1))


_KEYS = st.sampled_from(["valid", "poll", "lead", "ahead", "name", "x_y", "k-9"])


@given(st.lists(st.tuples(st.sampled_from(["a", "b.c", "chan"]), st.lists(_KEYS, min_size=1,
                                                                        max_size=4, unique=True)),
                min_size=1, max_size=4, unique_by=lambda t: t[0]),
       st.integers(0, 3))
def test_every_key_is_found_on_its_own_line(tables, blank: int) -> None:
    lines, where = [], {}
    for table, keys in tables:
        lines += [""] * blank + [f"[{table}]"]
        for key in keys:
            lines.append(f'{key} = ["multi",\n  "line"] # {key}')
            where[tuple(table.split(".")) + (key,)] = len(lines) + sum(l.count("\n") for l in lines[:-1])
    text = "\n".join(lines) + "\n"
    found = KeyLines(text)
    for path, line in where.items():
        assert found.line_of(path) == line


def test_keys_of_arrays_of_tables_and_inline_tables() -> None:
    found = KeyLines(GOOD)
    assert found.line_of(("channels", 0, "output", "device")) == 16
    assert found.line_of(("channels", 1, "policy", "delta_batch")) == 24
    assert found.line_of(("channels", 1, "rate")) == 18  # missing: the table's own line
    assert found.line_of(("nothing",)) == 1
    plan = parse_plan(GOOD, "g.toml", Path("/"))
    assert plan.error(("channels", 0, "output"), "x").line == 16
