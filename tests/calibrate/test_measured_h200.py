"""The H200 measurement shipped in hardware/measured/ (one `coscale calibrate --device cuda` run on an H200):
its fields follow from its own measurements by the fitter, the h200-sxm chip uses them (SDPA attention
excepted), and the model fed them reproduces measured GEMM and copy rates at the shapes it was not fitted on."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from coscale.calibrate.family_file import load_efficiency_file
from coscale.calibrate.fit import fit_fields
from coscale.calibrate.measurement import Measurement
from coscale.hardware.catalog import load_hardware
from coscale.hardware.families import load_family
from coscale.report.calibration import calibration_rows

MEASURED = Path(str(files("coscale.hardware") / "measured" / "h200-sxm.json"))


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(MEASURED.read_text(encoding="utf-8"))


def test_the_file_is_a_real_gpu_run_with_provenance(doc: dict) -> None:
    prov = doc["provenance"]
    assert prov["device"] == "cuda" and "H200" in prov["chip"] and prov["hardware"] == "h200-sxm"
    assert prov["driver"] not in ("", "unknown", "none (CPU)") and "+cu" in prov["torch"]
    kinds = {m["kind"] for m in doc["measurements"]}
    assert {"gemm", "attention", "copy", "host_to_device", "device_to_host"} <= kinds
    assert any(m["compute_class"] == "fp8" for m in doc["measurements"])  # torch._scaled_mm ran


def test_fields_are_what_the_fitter_makes_of_the_measurements(doc: dict) -> None:
    hw = load_hardware("h200-sxm")
    ms = [Measurement.from_dict(m) for m in doc["measurements"]]
    refit = fit_fields(ms, hw, load_family("nvidia-hopper"), doc["provenance"])
    assert set(refit) == set(doc["fields"])
    for key, entry in refit.items():
        assert entry["value"] == pytest.approx(doc["fields"][key]["value"], rel=1e-9)


def test_the_h200_chip_uses_the_measured_fields_except_sdpa_attention(doc: dict) -> None:
    eff = load_hardware("h200-sxm").efficiency
    sources = dict(eff.sources)
    for key in doc["fields"]:
        if key.startswith("attention_peak"):
            assert "FlashAttention-3" in sources[key].detail  # engines run FA3, not torch SDPA
            continue
        assert sources[key].kind == "calibrated" and "measured/h200-sxm.json" in sources[key].detail
    assert eff.memory_gemm == pytest.approx(doc["fields"]["memory_gemm"]["value"], abs=1e-4)


def test_the_file_loads_as_an_efficiency_file() -> None:
    eff = load_efficiency_file(MEASURED)
    assert eff.family == "nvidia-hopper-calibrated" and eff.borrows == "nvidia-hopper"


def test_calibrated_model_reproduces_unfitted_large_gemms_and_the_copy(doc: dict) -> None:
    hw = load_hardware("h200-sxm")
    ms = [Measurement.from_dict(m) for m in doc["measurements"]]
    rows = {r["name"]: r for r in calibration_rows(ms, hw, hw.efficiency)}
    # squares the fitter did not use (it takes the largest), decode-like bf16 shapes, the copy: within 20 %
    for name in ("gemm-bf16-4096x4096x4096", "gemm-bf16-8192x8192x8192", "gemm-fp8-4096x4096x4096",
                 "gemm-fp8-8192x8192x8192", "gemm-fp32-8192x8192x8192", "gemm-bf16-64x8192x8192",
                 "gemm-bf16-128x8192x8192", "gemm-bf16-1024x8192x8192", "copy-1073741824"):
        assert 0.8 <= rows[name]["ratio_predicted_to_measured"] <= 1.2, name
