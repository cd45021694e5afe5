"""The built-in catalog: every file loads, every number is sourced, spot checks against hardware.json."""

import json
from pathlib import Path

import pytest

from coscale.hardware import catalog_ids, list_hardware, load_hardware, provenance
from coscale.hardware.catalog import catalog_dir
from coscale.hardware.parse import BLOCK_SCALED_ELEMENT
from coscale.hardware.provenance import explainable_fields
from coscale.specs.hardware import COMPUTE_CLASSES

NAMED_IDS = {
    "a100-sxm-80gb", "h100-sxm", "h100-pcie", "h200-sxm", "b200", "b300", "gb200", "l40s", "rtx-4090",
    "mi300x", "mi325x", "mi355x", "tpu-v5e", "tpu-v5p", "tpu-v6e", "gaudi3", "groq-lpu", "cerebras-wse3",
    "jetson-agx-orin-64gb", "rtx-5090", "tpu7x", "jetson-agx-thor", "apple-m4-max",
    "h800-sxm", "h100-sxm-96gb-500w",
}
TB, GIB = 1e12, 2.0**30
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "hardware.json"


def test_catalog_has_all_devices_and_file_ids_match_names():
    assert set(catalog_ids()) == NAMED_IDS
    for spec in list_hardware():
        assert (catalog_dir() / f"{spec.id}.json").is_file()


@pytest.mark.parametrize("hw_id", sorted(NAMED_IDS))
def test_every_number_has_a_source_and_sane_values(hw_id):
    spec = load_hardware(hw_id)
    for field in explainable_fields(spec):
        p = provenance(spec, field)
        assert len(p.source) > 10, (hw_id, field)
    assert set(spec.peak_flops) <= set(COMPUTE_CLASSES) and spec.peak_flops
    assert all(v > 0 for v in spec.peak_flops.values())
    assert 0 < spec.idle_w < spec.tdp_w
    assert spec.scaleup_domain >= 1
    for fmt in spec.block_scaled_formats:
        assert spec.supports(BLOCK_SCALED_ELEMENT[fmt])


def test_reference_devices_match_hardware_json():
    """Every dense rate and bandwidth of the 23 reference devices equals the reference (modulo units)."""
    if not REFERENCE.is_file():
        pytest.skip("shared reference/hardware.json not next to this checkout")
    ref = json.loads(REFERENCE.read_text())["devices"]
    by_name = {s.name: s for s in list_hardware()}
    checked = 0
    for dev in ref:
        spec = by_name.get(dev["name"])
        if spec is None:
            continue
        checked += 1
        assert spec.memory_bw_Bps == pytest.approx(dev["memory_bw_tbs"] * TB), spec.id
        for cls in ("tf32", "bf16", "fp16", "fp8", "fp6", "fp4"):
            want = dev[f"{cls}_dense_tflops"]
            if want is not None and not spec.sources[f"peak_flops.{cls}"].startswith("estimate"):
                assert spec.peak_flops[cls] == pytest.approx(want * 1e12), (spec.id, cls)
    assert checked == 23


def test_h100_spot_checks():
    h = load_hardware("h100-sxm")
    assert h.peak_flops["bf16"] == pytest.approx(989.4e12)
    assert h.peak_flops["fp8"] == pytest.approx(1978.9e12)
    assert h.memory_bw_Bps == pytest.approx(3.35e12)
    assert h.memory_bytes == 80 * GIB
    assert h.scaleup_bw_Bps == pytest.approx(450e9)  # 900 GB/s bidirectional, per direction
    assert h.scaleout_bw_Bps == pytest.approx(50e9)  # 400 Gb/s ConnectX-7
    assert not h.supports("fp4") and not h.supports("fp6")
    assert h.block_scaled_formats == ()
    assert h.compute_units == 132 and load_hardware("mi300x").compute_units == 304
    assert load_hardware("tpu-v5e").compute_units == 0  # unknown: the cost model skips wave effects


def test_blackwell_and_amd_block_scaling():
    b = load_hardware("b200")
    assert b.peak_flops["fp4"] == pytest.approx(9e15)
    assert set(b.block_scaled_formats) == {"mxfp8", "mxfp6", "mxfp4", "nvfp4"}
    assert set(load_hardware("mi355x").block_scaled_formats) == {"mxfp8", "mxfp6", "mxfp4"}
    assert load_hardware("gb200").scaleup_domain == 72


def test_a100_has_no_fp8():
    a = load_hardware("a100-sxm-80gb")
    assert not a.supports("fp8") and "fp8" not in a.peak_flops
    assert a.supports("bf16")


def test_variants():
    h800, h100 = load_hardware("h800-sxm"), load_hardware("h100-sxm")
    assert h800.peak_flops == h100.peak_flops and h800.memory_bw_Bps == h100.memory_bw_Bps
    assert h800.scaleup_bw_Bps == pytest.approx(200e9)
    capped = load_hardware("h100-sxm-96gb-500w")
    assert capped.tdp_w == 500 and capped.memory_bw_Bps == pytest.approx(2.4e12)
    assert capped.memory_bytes == 96 * GIB
    ratio = capped.peak_flops["bf16"] / h100.peak_flops["bf16"]
    assert ratio == pytest.approx((500 / 700) ** (1 / 3), abs=1e-3)
    assert provenance(capped, "peak_flops.bf16").is_estimate


def test_sram_devices_and_estimates_are_labelled():
    assert load_hardware("groq-lpu").memory_bytes == pytest.approx(230e6)
    assert load_hardware("cerebras-wse3").memory_bytes == pytest.approx(44e9)
    assert provenance(load_hardware("cerebras-wse3"), "peak_flops.bf16").is_estimate
    assert provenance(load_hardware("tpu-v5e"), "tdp_w").is_estimate
    assert not provenance(load_hardware("h100-sxm"), "tdp_w").is_estimate
