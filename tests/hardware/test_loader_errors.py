"""User-written files load by path; bad ids and malformed files give one-line CoscaleErrors."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.hardware import load_hardware, provenance
from coscale.hardware.catalog import catalog_dir
from coscale.hardware.parse import QUANTITY_FIELDS, parse_hardware

H100_DOC = json.loads((catalog_dir() / "h100-sxm.json").read_text())


def _write(tmp_path, doc, name="chip.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def _one_line_error(match, fn, *args):
    with pytest.raises(CoscaleError, match=match) as info:
        fn(*args)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_user_file_loads_by_path(tmp_path):
    doc = copy.deepcopy(H100_DOC)
    doc["id"] = "my-chip"
    doc["memory"] = {"value": 120, "unit": "GB", "source": "my datasheet"}
    doc["scaleup_bw"] = {"value": 300, "unit": "GB/s", "source": "my datasheet, per direction"}
    spec = load_hardware(_write(tmp_path, doc))
    assert spec.id == "my-chip" and spec.memory_bytes == 120e9 and spec.scaleup_bw_Bps == 300e9
    assert provenance(spec, "memory_bytes").source == "my datasheet"


def test_readme_example_loads(tmp_path):
    readme = (catalog_dir().parent / "README.md").read_text()
    example = readme.split("```json\n", 1)[1].split("```", 1)[0]
    spec = load_hardware(_write(tmp_path, example, "example.json"))
    assert spec.peak_flops["bf16"] > 0 and spec.idle_w > 0


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


@pytest.mark.parametrize("key", [*QUANTITY_FIELDS, "idle_power", "peak_flops", "id", "name", "vendor"])
def test_missing_field_is_named(tmp_path, key):
    doc = copy.deepcopy(H100_DOC)
    del doc[key]
    path = _write(tmp_path, doc)
    msg = _one_line_error(f"field '{key}'", load_hardware, path)
    assert path in msg


@pytest.mark.parametrize("value", [0, -3.35, "fast", None, True, float("inf")])
def test_bad_bandwidth_value(tmp_path, value):
    doc = copy.deepcopy(H100_DOC)
    doc["memory_bw"]["value"] = value
    _one_line_error("field 'memory_bw'", parse_hardware, json.loads(json.dumps(doc, allow_nan=True)), "f.json")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d["memory_bw"].update(unit="TB"), "unknown unit 'TB'"),
        (lambda d: d["memory"].update(unit="GB/s"), "unknown unit 'GB/s'"),
        (lambda d: d["tdp"].pop("source"), "field 'tdp' has no 'source'"),
        (lambda d: d["tdp"].pop("unit"), "field 'tdp' has no 'unit'"),
        (lambda d: d["peak_flops"].update(fp12={"value": 1, "unit": "TFLOP/s", "source": "x"}), "fp12"),
        (lambda d: d["peak_flops"]["bf16"].update(value=-1), "peak_flops.bf16"),
        (lambda d: d["scaleup_domain"].update(value=2.5), "whole number"),
        (lambda d: d.update(memroy=d["memory"]), "'memroy' is not recognised"),
        (lambda d: d["block_scaled_formats"].update(value=["nvfp4"]), "no fp4 rate"),
        (lambda d: d["block_scaled_formats"].update(value=["mxfp5"]), "unknown format"),
        (lambda d: d["idle_power"].update(value=2.0), "not below tdp"),
        (lambda d: d["memory"].update(extra=1), "unexpected keys"),
    ],
)
def test_malformed_fields(tmp_path, mutate, match):
    doc = copy.deepcopy(H100_DOC)
    mutate(doc)
    _one_line_error(match, load_hardware, _write(tmp_path, doc))


@settings(max_examples=60, deadline=None)
@given(value=st.floats(min_value=1e-3, max_value=1e6), unit=st.sampled_from(["GB/s", "TB/s", "Gb/s"]),
       bidir=st.booleans())
def test_bandwidth_units_convert_to_per_direction_si(value, unit, bidir):
    doc = copy.deepcopy(H100_DOC)
    doc["scaleup_bw"] = {"value": value, "unit": unit + (" bidirectional" if bidir else ""), "source": "s"}
    spec = parse_hardware(doc, "f.json")
    factor = {"GB/s": 1e9, "TB/s": 1e12, "Gb/s": 1e9 / 8}[unit]
    assert spec.scaleup_bw_Bps == pytest.approx(value * factor / (2 if bidir else 1))
