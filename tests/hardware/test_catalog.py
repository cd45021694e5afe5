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
    "h800-sxm", "h100-sxm-96gb-500w", "rtx-pro-6000-blackwell", "a10g", "l4", "gh200", "gb300",
}
TB, GIB = 1e12, 2.0**30
# the datasheet figures (with their sources) shipped with the tests, copied from the shared reference
REFERENCE = Path(__file__).with_name("data") / "hardware_reference.json"
SHARED_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "hardware.json"


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
    rates = spec.compute.rates()
    assert rates and {c for c, _ in rates} <= set(COMPUTE_CLASSES) and all(v > 0 for _, v in rates)
    assert 0 < spec.power.idle_w < spec.power.tdp_w
    assert spec.links.scaleup.domain_size >= 1
    for fmt in spec.compute.block_scaled_formats:
        assert spec.compute.supports(BLOCK_SCALED_ELEMENT[fmt])
    for tier in (spec.memory.host, spec.memory.nvme):
        if tier is not None:  # slower tiers sit behind device memory
            assert tier.bandwidth_Bps < spec.memory.hbm.bandwidth_Bps
            assert tier.latency_s > spec.memory.hbm.latency_s
    if spec.memory.host is not None:  # reached no faster than the host link
        assert spec.memory.host.bandwidth_Bps <= spec.links.host.bandwidth_Bps


def test_reference_devices_match_hardware_json():
    """Every dense rate and bandwidth of the 23 reference devices equals the reference (modulo units)."""
    assert REFERENCE.is_file(), f"{REFERENCE} is missing: it ships with the tests (tests/hardware/data)"
    ref = json.loads(REFERENCE.read_text())["devices"]
    assert len(ref) == 23 and all(dev["source"] for dev in ref)
    by_name = {s.name: s for s in list_hardware()}
    checked = 0
    for dev in ref:
        spec = by_name.get(dev["name"])
        if spec is None:
            continue
        checked += 1
        assert spec.memory.hbm.bandwidth_Bps == pytest.approx(dev["memory_bw_tbs"] * TB), spec.id
        for cls in ("tf32", "bf16", "fp16", "fp8", "fp6", "fp4"):
            want = dev[f"{cls}_dense_tflops"]
            if want is not None and not spec.source(f"compute.{cls}").startswith("estimate"):
                assert spec.compute.peak(cls) == pytest.approx(want * 1e12), (spec.id, cls)
    assert checked == 23


def test_shipped_reference_equals_the_shared_one_where_both_exist():
    """The copy in tests/hardware/data is the shared reference's figures, unchanged (checked where the
    shared file sits next to this checkout; the copy alone is what the test above needs)."""
    if not SHARED_REFERENCE.is_file():
        return  # nothing to compare with in this layout; the copy is still checked above
    shared = json.loads(SHARED_REFERENCE.read_text())["devices"]
    copy = json.loads(REFERENCE.read_text())["devices"]
    assert [{k: dev[k] for k in c} for dev, c in zip(shared, copy, strict=True)] == copy


def test_h100_spot_checks():
    h = load_hardware("h100-sxm")
    assert h.compute.bf16 == pytest.approx(989.4e12)
    assert h.compute.peak("fp8") == pytest.approx(1978.9e12)
    assert h.memory.hbm.bandwidth_Bps == pytest.approx(3.35e12)
    assert h.memory.hbm.capacity_bytes == 80 * GIB
    assert h.links.scaleup.bandwidth_Bps == pytest.approx(450e9)  # 900 GB/s bidirectional, per direction
    assert h.links.scaleout.bandwidth_Bps == pytest.approx(50e9)  # 400 Gb/s ConnectX-7
    assert h.links.scaleup.latency_s == 15e-6 == h.links.scaleout.latency_s  # the NCCL floor used before
    assert not h.compute.supports("fp4") and not h.compute.supports("fp6") and h.compute.fp4 == 0.0
    assert h.compute.block_scaled_formats == ()
    assert h.compute.compute_units == 132 and load_hardware("mi300x").compute.compute_units == 304
    assert load_hardware("tpu-v5e").compute.compute_units == 0  # unknown: the cost model skips wave effects


def test_platform_tiers():
    h = load_hardware("h100-sxm")  # DGX H100: 2 TB DDR5 and 8 x 3.84 TB NVMe per 8 GPUs
    assert h.memory.host.capacity_bytes == 256 * GIB and h.memory.nvme.capacity_bytes == 3.84e12
    assert h.memory.host.bandwidth_Bps == pytest.approx(64e9)  # PCIe Gen5 x16 per direction binds
    gb = load_hardware("gb200")  # half a Grace: 240 GiB LPDDR5X at 256 GB/s (below NVLink-C2C)
    assert gb.memory.host.capacity_bytes == 240 * GIB and gb.memory.host.bandwidth_Bps == pytest.approx(256e9)
    gh = load_hardware("gh200")  # a whole Grace: the 450 GB/s C2C link binds, not the 512 GB/s DRAM
    assert gh.memory.host.bandwidth_Bps == pytest.approx(450e9)
    assert load_hardware("apple-m4-max").memory.host is None  # unified memory
    assert "docs.nvidia.com" in provenance(h, "memory.nvme.capacity_bytes").source


def test_new_chips():
    pro = load_hardware("rtx-pro-6000-blackwell")
    assert pro.memory.hbm.capacity_bytes == 96 * GIB and pro.links.scaleup.domain_size == 1
    assert provenance(pro, "compute.bf16").is_estimate and not provenance(pro, "compute.fp4").is_estimate
    assert load_hardware("a10g").memory.hbm.bandwidth_Bps == pytest.approx(600e9)
    assert load_hardware("l4").power.tdp_w == 72 and not load_hardware("l4").compute.supports("fp4")
    gb300 = load_hardware("gb300")
    assert gb300.compute.fp4 == pytest.approx(15e15) and gb300.links.scaleout.bandwidth_Bps == pytest.approx(100e9)
    assert gb300.efficiency.family == "nvidia-blackwell" and load_hardware("gh200").efficiency.family == "nvidia-hopper"


def test_blackwell_and_amd_block_scaling():
    b = load_hardware("b200")
    assert b.compute.fp4 == pytest.approx(9e15)
    assert set(b.compute.block_scaled_formats) == {"mxfp8", "mxfp6", "mxfp4", "nvfp4"}
    assert set(load_hardware("mi355x").compute.block_scaled_formats) == {"mxfp8", "mxfp6", "mxfp4"}
    assert load_hardware("gb200").links.scaleup.domain_size == 72


def test_a100_has_no_fp8():
    a = load_hardware("a100-sxm-80gb")
    assert not a.compute.supports("fp8") and a.compute.fp8 == 0.0
    assert a.compute.supports("bf16")


def test_variants():
    h800, h100 = load_hardware("h800-sxm"), load_hardware("h100-sxm")
    assert h800.compute == h100.compute and h800.memory.hbm == h100.memory.hbm
    assert h800.links.scaleup.bandwidth_Bps == pytest.approx(200e9)
    capped = load_hardware("h100-sxm-96gb-500w")
    assert capped.power.tdp_w == 500 and capped.memory.hbm.bandwidth_Bps == pytest.approx(2.4e12)
    assert capped.memory.hbm.capacity_bytes == 96 * GIB
    ratio = capped.compute.bf16 / h100.compute.bf16
    assert ratio == pytest.approx((500 / 700) ** (1 / 3), abs=1e-3)
    assert provenance(capped, "compute.bf16").is_estimate


def test_sram_devices_and_estimates_are_labelled():
    assert load_hardware("groq-lpu").memory.hbm.capacity_bytes == pytest.approx(230e6)
    assert load_hardware("cerebras-wse3").memory.hbm.capacity_bytes == pytest.approx(44e9)
    assert provenance(load_hardware("cerebras-wse3"), "compute.bf16").is_estimate
    assert provenance(load_hardware("tpu-v5e"), "power.tdp_w").is_estimate
    assert not provenance(load_hardware("h100-sxm"), "power.tdp_w").is_estimate
    assert provenance(load_hardware("h100-sxm"), "efficiency.vector_peak").is_estimate  # an assumption
