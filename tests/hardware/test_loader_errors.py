"""User-written files load by path; bad ids and malformed files give one-line CoscaleErrors."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.hardware import load_hardware, provenance
from coscale.hardware.catalog import catalog_dir
from coscale.hardware.parse import parse_hardware

H100_DOC = json.loads((catalog_dir() / "h100-sxm.json").read_text())

# every quantity of the composed schema, as a path into the document
QUANTITY_PATHS = [
    "memory.hbm.capacity", "memory.hbm.bandwidth", "memory.hbm.latency",
    "links.scaleup.bandwidth", "links.scaleup.latency", "links.scaleup.domain_size",
    "links.scaleout.bandwidth", "links.scaleout.latency", "links.host.bandwidth", "links.host.latency",
    "power.tdp", "power.idle",
]


def _write(tmp_path, doc, name="chip.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def _one_line_error(match, fn, *args):
    with pytest.raises(CoscaleError, match=match) as info:
        fn(*args)
    assert "\n" not in str(info.value)
    return str(info.value)


def _at(doc, path):
    *parents, leaf = path.split(".")
    for p in parents:
        doc = doc[p]
    return doc, leaf


def test_user_file_loads_by_path(tmp_path):
    doc = copy.deepcopy(H100_DOC)
    doc["id"] = "my-chip"
    doc["memory"]["hbm"]["capacity"] = {"value": 120, "unit": "GB", "source": "my datasheet"}
    doc["links"]["scaleup"]["bandwidth"] = {"value": 300, "unit": "GB/s", "source": "my datasheet, per direction"}
    spec = load_hardware(_write(tmp_path, doc))
    assert spec.id == "my-chip" and spec.memory.hbm.capacity_bytes == 120e9
    assert spec.links.scaleup.bandwidth_Bps == 300e9
    assert provenance(spec, "memory.hbm.capacity_bytes").source == "my datasheet"


def test_readme_example_loads(tmp_path):
    readme = (catalog_dir().parent / "README.md").read_text()
    example = readme.split("```json\n", 1)[1].split("```", 1)[0]
    spec = load_hardware(_write(tmp_path, example, "example.json"))
    assert spec.compute.bf16 > 0 and spec.power.idle_w > 0 and spec.efficiency.family == "other"
    # the host tier is reached at the host link's 64 GB/s, not the DRAM's 300 GB/s
    assert spec.memory.host.bandwidth_Bps == pytest.approx(64e9)
    assert "limited by links.host" in provenance(spec, "memory.host.bandwidth_Bps").source
    assert spec.memory.nvme is None


def test_unknown_id_suggests_close_matches():
    msg = _one_line_error("unknown hardware 'h100-sxn'", load_hardware, "h100-sxn")
    assert "h100-sxm" in msg
    assert "h100-sxm" in _one_line_error("did you mean", load_hardware, "h100")
    assert "mi300x" in _one_line_error("did you mean", load_hardware, "MI300")
    assert load_hardware("H100_SXM").id == "h100-sxm"
    assert "a100-sxm-80gb" in _one_line_error("did you mean", load_hardware, "nvidia-a100")
    assert "run `coscale list hardware`" in _one_line_error("unknown", load_hardware, "zzz")


def test_missing_file_and_bad_json(tmp_path):
    _one_line_error("does not exist", load_hardware, str(tmp_path / "nope.json"))
    _one_line_error("not valid JSON", load_hardware, _write(tmp_path, "{ not json"))
    _one_line_error("top level must be a JSON object", load_hardware, _write(tmp_path, "[1, 2]"))


@pytest.mark.parametrize("path", [*QUANTITY_PATHS, "compute", "memory", "memory.hbm", "links", "links.scaleup",
                                  "links.scaleout", "links.host", "power", "id", "name", "vendor", "efficiency"])
def test_missing_field_is_named_with_the_fix(tmp_path, path):
    doc = copy.deepcopy(H100_DOC)
    parent, leaf = _at(doc, path)
    del parent[leaf]
    file = _write(tmp_path, doc)
    msg = _one_line_error(f"field '{path}'", load_hardware, file)
    assert file in msg and ("add" in msg or "give" in msg)


@pytest.mark.parametrize("path", [*QUANTITY_PATHS, "compute.bf16", "memory.host.capacity", "memory.nvme.latency"])
def test_a_number_without_a_source_fails_loading(tmp_path, path):
    doc = copy.deepcopy(H100_DOC)
    parent, leaf = _at(doc, path)
    parent[leaf].pop("source")
    _one_line_error(f"field '{path}' has no 'source'", load_hardware, _write(tmp_path, doc))


@pytest.mark.parametrize("value", [0, -3.35, "fast", None, True, float("inf")])
def test_bad_bandwidth_value(tmp_path, value):
    doc = copy.deepcopy(H100_DOC)
    doc["memory"]["hbm"]["bandwidth"]["value"] = value
    _one_line_error("field 'memory.hbm.bandwidth'", parse_hardware,
                    json.loads(json.dumps(doc, allow_nan=True)), "f.json")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d["memory"]["hbm"]["bandwidth"].update(unit="TB"), "unknown unit 'TB'"),
        (lambda d: d["memory"]["hbm"]["capacity"].update(unit="GB/s"), "unknown unit 'GB/s'"),
        (lambda d: d["links"]["host"]["latency"].update(unit="GB/s"), "unknown unit 'GB/s'"),
        (lambda d: d["power"]["tdp"].pop("unit"), "field 'power.tdp' has no 'unit'"),
        (lambda d: d["compute"].update(fp12={"value": 1, "unit": "TFLOP/s", "source": "x"}), "compute.fp12"),
        (lambda d: d["compute"]["bf16"].update(value=-1), "compute.bf16"),
        (lambda d: d.update(compute={}), "has no peak rate"),
        (lambda d: d["links"]["scaleup"]["domain_size"].update(value=2.5), "whole number"),
        (lambda d: d.update(memroy=d["memory"]), "'memroy' is not recognised"),
        (lambda d: d["memory"].update(dram=d["memory"]["hbm"]), "'memory.dram' is not recognised"),
        (lambda d: d["compute"]["block_scaled_formats"].update(value=["nvfp4"]), "no fp4 rate"),
        (lambda d: d["compute"]["block_scaled_formats"].update(value=["mxfp5"]), "unknown format"),
        (lambda d: d["power"]["idle"].update(value=2.0), "not below power.tdp"),
        (lambda d: d["memory"]["hbm"]["capacity"].update(extra=1), "unexpected keys"),
        (lambda d: d.update(efficiency="nvidia-hoper"), "names no known family"),
        (lambda d: d.update(efficiency_overrides={"memory_stream": {"value": 0.8, "kind": "published"}}),
         "'memory_stream' has no 'source'"),
        (lambda d: d.update(efficiency_overrides={"memory_streem": {"value": 0.8, "source": "x"}}),
         "not an efficiency field"),
        (lambda d: d.update(efficiency_overrides={"memory_stream": {"value": 0.8, "kind": "guess", "source": "x"}}),
         "needs \"kind\""),
        (lambda d: d.update(efficiency_overrides={"gemm_tile": {"value": 96.5, "kind": "assumed", "source": "x"}}),
         "whole number"),
        (lambda d: d.update(efficiency_overrides={"memory_stream": {"value": 0.8, "kind": "calibrated",
                                                                    "source": "x"}}), "names no case"),
    ],
)
def test_malformed_fields(tmp_path, mutate, match):
    doc = copy.deepcopy(H100_DOC)
    mutate(doc)
    _one_line_error(match, load_hardware, _write(tmp_path, doc))


def test_efficiency_override_replaces_one_constant_with_its_source(tmp_path):
    doc = copy.deepcopy(H100_DOC)
    doc["efficiency_overrides"] = {"memory_stream": {"value": 0.85, "kind": "published", "source": "my STREAM run"}}
    spec = load_hardware(_write(tmp_path, doc))
    base = load_hardware("h100-sxm").efficiency
    assert spec.efficiency.memory_stream == 0.85 and base.memory_stream == 0.90
    assert spec.efficiency.source("memory_stream").detail == "my STREAM run"
    assert spec.efficiency.gemm_peak == base.gemm_peak and not spec.efficiency.missing_sources()


@settings(max_examples=60, deadline=None)
@given(value=st.floats(min_value=2.0, max_value=1e4), unit=st.sampled_from(["GB/s", "TB/s", "Gb/s"]),
       bidir=st.booleans())  # values a physical link can have (outside, the plausibility check refuses them)
def test_bandwidth_units_convert_to_per_direction_si(value, unit, bidir):
    doc = copy.deepcopy(H100_DOC)
    doc["links"]["scaleup"]["bandwidth"] = {"value": value, "unit": unit + (" bidirectional" if bidir else ""),
                                            "source": "s"}
    spec = parse_hardware(doc, "f.json")
    factor = {"GB/s": 1e9, "TB/s": 1e12, "Gb/s": 1e9 / 8}[unit]
    assert spec.links.scaleup.bandwidth_Bps == pytest.approx(value * factor / (2 if bidir else 1))


@settings(max_examples=60, deadline=None)
@given(value=st.floats(min_value=1e-1, max_value=1e3), unit=st.sampled_from(["ns", "us", "ms", "s"]))
def test_latency_units_convert_to_seconds(value, unit):
    doc = copy.deepcopy(H100_DOC)
    doc["links"]["scaleout"]["latency"] = {"value": value, "unit": unit, "source": "s"}
    spec = parse_hardware(doc, "f.json")
    per_second = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    assert spec.links.scaleout.latency_s == pytest.approx(value / per_second)


@pytest.mark.parametrize(("path", "value", "unit"), [
    (("memory", "hbm", "bandwidth"), 1e-300, "TB/s"),  # printed inf times and nan% shares before
    (("memory", "hbm", "capacity"), 1e30, "GiB"),
    (("compute", "bf16"), 1e-6, "TFLOP/s"),
    (("power", "tdp"), 1e-6, "W"),
    (("links", "scaleup", "latency"), 1e9, "s"),
])
def test_physically_implausible_quantities_are_refused_naming_the_field(tmp_path, path, value, unit):
    doc = copy.deepcopy(H100_DOC)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = {"value": value, "unit": unit, "source": "s"}
    _one_line_error(f"field '{'.'.join(path)}' .* outside the plausible", load_hardware, _write(tmp_path, doc))
