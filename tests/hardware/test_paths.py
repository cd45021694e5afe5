"""Specs are hashable values; every numeric field is addressable by a dotted path."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.hardware import catalog_ids, list_hardware, load_hardware
from coscale.specs.hardware import HardwareSpec, numeric_paths

SPECS = {s.id: s for s in list_hardware()}
PATHS = sorted({(i, p) for i, s in SPECS.items() for p in numeric_paths(s)})


def test_specs_are_hashable_and_equal_by_value():
    for spec in SPECS.values():
        again = load_hardware(spec.id)
        assert again == spec and hash(again) == hash(spec)
    assert len({hash(s) for s in SPECS.values()}) == len(SPECS)
    assert {load_hardware("h100-sxm"): 1}[load_hardware("h100-sxm")] == 1


def test_numeric_paths_cover_every_section():
    h = SPECS["h100-sxm"]
    paths = numeric_paths(h)
    for want in ("compute.fp8", "compute.compute_units", "memory.hbm.bandwidth_Bps", "memory.host.capacity_bytes",
                 "memory.nvme.latency_s", "links.scaleup.domain_size", "links.scaleout.latency_s",
                 "links.host.bandwidth_Bps", "power.tdp_w", "efficiency.gemm_peak.fp8", "efficiency.memory_stream"):
        assert want in paths
    assert len(paths) == len(set(paths))
    assert not any(p.startswith("efficiency.") for p in numeric_paths(h, include_efficiency=False))
    assert "memory.host.capacity_bytes" not in numeric_paths(SPECS["apple-m4-max"])  # absent tier
    assert all(isinstance(h.get(p), int | float) for p in paths)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_with_value_round_trips_every_path_of_every_chip(data):
    hw_id, path = data.draw(st.sampled_from(PATHS))
    spec = SPECS[hw_id]
    old = spec.get(path)
    value = (data.draw(st.integers(min_value=1, max_value=10**6)) if isinstance(old, int)
             else data.draw(st.floats(min_value=1e-9, max_value=1e18, allow_nan=False)))
    new = spec.with_value(path, value)
    assert isinstance(new, HardwareSpec) and new.get(path) == value
    assert type(new.get(path)) is type(old)
    for other in numeric_paths(spec):  # nothing else moved
        if other != path:
            assert new.get(other) == spec.get(other)
    assert spec.get(path) == old  # the original is untouched
    back = new.with_value(path, old)
    assert back.get(path) == old and hash(back) == hash(back)
    if path.startswith("efficiency."):
        assert new.efficiency.source(path.split(".", 1)[1]).detail.startswith("set by with_value")
        assert new.efficiency.missing_sources() == spec.efficiency.missing_sources()
    else:
        assert new.source(path).startswith("set by with_value")


def test_with_value_reaches_the_composed_fields():
    h = SPECS["h100-sxm"].with_value("compute.fp4", 4e15).with_value("memory.hbm.bandwidth_Bps", 5e12)
    assert h.compute.supports("fp4") and h.compute.peak("fp4") == 4e15 and h.memory.hbm.bandwidth_Bps == 5e12
    assert h.with_value("links.scaleup.domain_size", 72).links.scaleup.domain_size == 72


def test_unknown_path_names_close_matches():
    h = SPECS["h100-sxm"]
    with pytest.raises(CoscaleError, match=r"did you mean memory\.hbm\.bandwidth_Bps") as info:
        h.get("memory.hbm.bandwith_Bps")
    assert "\n" not in str(info.value)
    with pytest.raises(CoscaleError, match=r"did you mean compute\.fp8"):
        h.with_value("compute.fp08", 1.0)
    with pytest.raises(CoscaleError, match="not a numeric field path"):
        h.get("name")
    with pytest.raises(CoscaleError, match="not a numeric field path"):
        SPECS["apple-m4-max"].get("memory.host.capacity_bytes")


@pytest.mark.parametrize(("path", "value", "match"), [
    ("compute.fp8", -1.0, "cannot be negative"),
    ("compute.fp8", math.inf, "finite number"),
    ("compute.fp8", "fast", "finite number"),
    ("links.scaleup.domain_size", 2.5, "whole count"),
    ("links.scaleup.domain_size", 0, "use 1 for a device without"),
    ("efficiency.gemm_tile", 96.5, "whole count"),
])
def test_with_value_rejects_bad_values(path, value, match):
    with pytest.raises(CoscaleError, match=match):
        SPECS["h100-sxm"].with_value(path, value)


def test_every_catalog_chip_is_listed():
    assert set(SPECS) == set(catalog_ids())
