"""SigMF metadata: round trips, bounded parsing of hostile documents, the sidecar rule, flag conflicts."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem._sigmf import _nesting_depth
from modem.errors import SampleFormatError
from modem.formats import (
    MAX_META_BYTES,
    MAX_META_DEPTH,
    SIGMF_DATATYPE,
    SigmfMeta,
    build_sigmf_meta,
    format_over_meta,
    parse_sigmf_meta,
    rate_over_meta,
    sigmf_meta_candidates,
    sigmf_meta_path,
)

FORMATS = sorted(SIGMF_DATATYPE)


def _doc(**glob) -> str:
    return json.dumps({"global": {"core:datatype": "cu8", "core:sample_rate": 1.2e6, **glob}})


@pytest.mark.parametrize("fmt", FORMATS)
def test_sigmf_round_trip(fmt):
    meta = SigmfMeta(fmt, 1_200_000.0, 89.1e6, "test", ({"core:sample_start": 0, "core:label": "x"},))
    text = build_sigmf_meta(meta)
    doc = json.loads(text)
    assert doc["global"]["core:version"] and doc["captures"][0]["core:frequency"] == 89.1e6
    assert doc["global"]["core:datatype"] == SIGMF_DATATYPE[fmt]
    assert parse_sigmf_meta(text) == meta
    assert parse_sigmf_meta(text.encode()) == meta


@pytest.mark.parametrize("datatype, fmt", [
    ("ci16_le", "cs16"), ("cu8", "cu8"), ("ci8", "cs8"), ("cf32_le", "cf32"), ("ri16_le", "s16le"),
    ("rf32_le", "f32le"),
])
def test_datatypes_we_decode(datatype, fmt):
    assert parse_sigmf_meta(_doc(**{"core:datatype": datatype})).fmt == fmt


def test_a_recording_by_another_tool_reads():
    """GNU Radio / SDR++ style: extra fields, several captures, integer rate, no annotations."""
    doc = {"global": {"core:datatype": "ci16_le", "core:sample_rate": 2400000, "core:version": "1.0.0",
                      "core:hw": "RTL-SDR", "core:extensions": [{"name": "antenna", "version": "1.0.0",
                                                                  "optional": True}]},
           "captures": [{"core:sample_start": 0, "core:frequency": 89100000,
                         "core:datetime": "2024-05-01T12:00:00Z"}, {"core:sample_start": 99}]}
    meta = parse_sigmf_meta(json.dumps(doc))
    assert (meta.fmt, meta.sample_rate_hz, meta.frequency_hz, meta.annotations) == ("cs16", 2.4e6, 89.1e6, ())


@pytest.mark.parametrize("doc, match", [
    ("{", "not JSON"), ("[]", "global"), ("null", "global"), (b"\xff\xfe{}", "not UTF-8"),
    ('{"global": {"core:datatype": "ci16_be", "core:sample_rate": 1}}', "big-endian"),
    ('{"global": {"core:datatype": "ri24_le", "core:sample_rate": 1}}', "not supported"),
    ('{"global": {"core:datatype": ["cu8"], "core:sample_rate": 1}}', "not supported"),
    ('{"global": {"core:datatype": {"a": 1}, "core:sample_rate": 1}}', "not supported"),
    (_doc(**{"core:sample_rate": -1}), "sample_rate is -1"),
    (_doc(**{"core:sample_rate": 0}), "sample_rate is 0"),
    (_doc(**{"core:sample_rate": True}), "must be a number"),
    (_doc(**{"core:sample_rate": "1.2M"}), "must be a number"),
    (_doc(**{"core:num_channels": 2}), "num_channels"),
    (_doc(**{"core:num_channels": True}), "num_channels"),
    ('{"global": {"core:datatype": "cu8"}}', "must be a number"),
    ('{"global": {"core:datatype": "cu8", "core:sample_rate": 1e400}}', "sample_rate is inf"),
    ('{"global": {"core:datatype": "cu8", "core:sample_rate": NaN}}', "sample_rate is nan"),
    ('{"global": {"core:datatype": "cu8", "core:sample_rate": 1' + "0" * 400 + "}}",
     "an integer of 401 digits"),
    ('{"global": {"core:datatype": "cu8", "core:sample_rate": 1' + "0" * 5000 + "}}", "not JSON"),
    (_doc() + "", None),
    (json.dumps({"global": {"core:datatype": "cu8", "core:sample_rate": 1e6},
                 "captures": [{"core:frequency": 1e400}]}).replace("Infinity", "1e400"), "frequency is inf"),
    (json.dumps({"global": {"core:datatype": "cu8", "core:sample_rate": 1e6},
                 "captures": [{"core:frequency": "89.1M"}]}), "frequency must be a number"),
    (json.dumps({"global": {"core:datatype": "cu8", "core:sample_rate": 1e6}, "captures": {}}), "captures"),
    (json.dumps({"global": {"core:datatype": "cu8", "core:sample_rate": 1e6}, "annotations": [1]}),
     "annotations"),
])
def test_errors_name_the_problem(doc, match):
    if match is None:
        assert parse_sigmf_meta(doc).sample_rate_hz == 1.2e6
        return
    with pytest.raises(SampleFormatError, match=match):
        parse_sigmf_meta(doc)


@pytest.mark.parametrize("depth", [MAX_META_DEPTH - 1, 2_000, 500_000])
def test_deeply_nested_metadata_is_refused_not_a_recursion_error(depth):
    doc = _doc(x="PLACE").replace('"PLACE"', "[" * depth + "]" * depth)  # global + x: depth + 2
    with pytest.raises(SampleFormatError, match=f"nests {depth + 2} levels deep, at most {MAX_META_DEPTH}"):
        parse_sigmf_meta(doc)
    with pytest.raises(SampleFormatError, match="levels deep"):
        parse_sigmf_meta("[" * MAX_META_BYTES)  # unclosed, as deep as the size limit allows


def test_nesting_up_to_the_limit_parses():
    assert parse_sigmf_meta(_doc(x=[[[]]])).fmt == "cu8"
    depth = MAX_META_DEPTH - 2
    assert parse_sigmf_meta(_doc(x="P").replace('"P"', "[" * depth + "]" * depth)).fmt == "cu8"


def test_brackets_inside_strings_do_not_count():
    doc = _doc(**{"core:description": "[" * 10_000 + '\\"{' * 100, "x": [[["]"]]]})
    assert parse_sigmf_meta(doc).description.startswith("[[[")


def test_oversized_metadata_is_refused_before_parsing():
    with pytest.raises(SampleFormatError, match="above the 1048576-byte limit"):
        parse_sigmf_meta(_doc(**{"core:description": "x" * MAX_META_BYTES}))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u00e9\u2603', max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text('[]{}"\\k', max_size=4), kids, max_size=3),
    max_leaves=30,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_json, st.booleans())
def test_nesting_depth_scanner_agrees_with_the_json_parser(value, ascii_only):
    assert _nesting_depth(json.dumps(value, ensure_ascii=ascii_only).encode()) == _depth(value)


@pytest.mark.parametrize("path, candidates", [
    ("cap.cu8", ["cap.cu8.sigmf-meta", "cap.sigmf-meta"]),
    ("dir/x.wav", ["dir/x.wav.sigmf-meta", "dir/x.sigmf-meta"]),
    ("rec.sigmf-data", ["rec.sigmf-meta"]),
    ("noext", ["noext.sigmf-meta"]),
    (".hidden", [".hidden.sigmf-meta"]),
])
def test_sidecar_rule(path, candidates):
    assert sigmf_meta_candidates(path) == candidates
    assert sigmf_meta_path(path) == candidates[0]


def test_flag_wins_over_metadata_with_a_warning():
    assert rate_over_meta(250e3, 240e3, "x.sigmf-meta") == (
        250e3, "--rate 250 kHz overrides 240 kHz in x.sigmf-meta")
    assert rate_over_meta(None, 240e3, "x.sigmf-meta") == (240e3, None)
    assert rate_over_meta(1e6, 1_000_000.026, "x.sigmf-meta") == (1e6, None)  # within 1 ppm
    assert rate_over_meta(1e6, None, "") == (1e6, None)
    assert format_over_meta("cu8", "cs16", "y.sigmf-meta") == (
        "cu8", "--format cu8 overrides core:datatype ci16_le (cs16) in y.sigmf-meta")
    assert format_over_meta("cu8", "cu8", "y.sigmf-meta") == ("cu8", None)
    assert format_over_meta(None, "cf32", "y.sigmf-meta") == ("cf32", None)
