"""Hardware levers: the issue's targets (decode-heavy -> HBM bandwidth, long prompt -> tensor-core rate,
and the flip between them), plus properties every lever must have."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.feedback.conftest import DECODE_HEAVY, LONG_PROMPT

from coscale.explore.feedback.evaluate import entry_plan, evaluate
from coscale.explore.feedback.flip import flip_scan
from coscale.explore.feedback.levers import INTEGER_FIELDS, SATURATION_FRACTION, STEP, lever_paths, rank_levers, scaled
from coscale.explore.feedback.workload import parse_workload


def _levers(hw, spec, objective="throughput_per_gpu", price=None):
    w = parse_workload(spec)
    return w, rank_levers(hw, w.entries, objective, price)


def test_decode_heavy_top_lever_is_hbm_bandwidth(h100):
    _, levers = _levers(h100, DECODE_HEAVY)
    top = levers[0]
    assert top.path == "memory.hbm.bandwidth_Bps"
    assert top.bound_before == "memory"
    assert 0.05 < top.gain <= STEP + 1e-9  # memory-bound: close to, never above, proportional
    assert top.gain > 5 * levers[1].gain


@pytest.mark.parametrize("precision", ["fp8", "bf16"])
def test_long_prompt_top_lever_is_tensor_core_rate_of_the_precision(h100, precision):
    w, levers = _levers(h100, {**LONG_PROMPT, "precision": precision})
    gemm_class = entry_plan(h100, w.entries[0]).gemm_class
    assert levers[0].path == f"compute.{gemm_class}"
    assert levers[0].bound_before == "compute"


def test_cost_objective_ranks_the_same_lever(h100):
    _, levers = _levers(h100, DECODE_HEAVY, "cost_per_mtok", 2.0)
    assert levers[0].path == "memory.hbm.bandwidth_Bps" and levers[0].gain > 0.05


def test_flip_from_bandwidth_to_compute_as_prompts_grow(h100):
    w = parse_workload(DECODE_HEAVY)
    scan = flip_scan(h100, w.entries[0], "throughput_per_gpu", None)
    assert scan.top[0] == "memory.hbm.bandwidth_Bps"
    assert scan.top[-1] == "compute.fp8"
    flips = [f for f in scan.flips if f.before == "memory.hbm.bandwidth_Bps" and f.after == "compute.fp8"]
    assert len(flips) == 1
    assert 1.0 < flips[0].ratio < 1000.0
    # the flip reported is where the scan's winner actually changes
    ratios = np.array(scan.ratios)
    below = [t for r, t in zip(ratios, scan.top, strict=True) if r < flips[0].ratio]
    assert below[-1] == "memory.hbm.bandwidth_Bps"


def test_saturation_names_the_bound_that_takes_over(h100):
    # auto batch, 1024/512: memory-bound; at 4x HBM bandwidth the tensor cores take over
    _, levers = _levers(h100, dict(model="llama-3.1-8b", precision="fp8", input_len=1024, output_len=512))
    hbm = next(lv for lv in levers if lv.path == "memory.hbm.bandwidth_Bps")
    assert hbm.bound_before == "memory" and hbm.bound_after == "compute"
    assert hbm.saturates_at is not None
    gains = dict(hbm.scan)
    # past the saturation point the marginal elasticity is below the stated fraction of the first one
    ms = [1.0, *gains]
    g = [0.0, *gains.values()]
    first = math.log1p(g[1]) / math.log(ms[1])
    k = ms.index(hbm.saturates_at)
    marginal = (math.log1p(g[k + 1]) - math.log1p(g[k])) / (math.log(ms[k + 1]) - math.log(ms[k]))
    assert marginal < SATURATION_FRACTION * first


def test_network_bound_layout_ranks_scaleout(h100):
    # 70B over 16 GPUs of 8-GPU domains: the TP all-reduce crosses InfiniBand
    _, levers = _levers(h100, dict(model="llama-3.1-70b", precision="fp8", input_len=1024, output_len=256, tp=16,
                                   batch=32))
    assert levers[0].path == "links.scaleout.bandwidth_Bps" and levers[0].bound_before == "network"


@settings(max_examples=12, deadline=None)
@given(isl=st.sampled_from([128, 1024, 4096]), osl=st.sampled_from([16, 256, 2048]),
       batch=st.sampled_from([1, 16, 64]))
def test_no_single_field_buys_more_than_its_own_change(h100, isl, osl, batch):
    """Roofline: making one resource 10 % faster can shorten no kernel by more than 10 %."""
    w = parse_workload(dict(model="llama-3.1-8b", precision="fp8", input_len=isl, output_len=osl, batch=batch))
    base = evaluate(h100, w.entries, "throughput_per_gpu", None)
    if not base.feasible:
        return
    for path in ("memory.hbm.bandwidth_Bps", "compute.fp8", "compute.bf16", "links.scaleup.bandwidth_Bps"):
        assert path not in INTEGER_FIELDS
        up = evaluate(scaled(h100, path, 1 + STEP), w.entries, "throughput_per_gpu", None)
        assert up.value / base.value - 1 <= STEP + 1e-9
        assert up.value >= base.value * (1 - 1e-9)  # more of a resource never hurts


def test_absent_units_are_not_levers(h100):
    assert "compute.fp4" not in lever_paths(h100)
    assert all(h100.get(p) > 0 for p in lever_paths(h100))
