"""Roofline, efficiency curves, collectives and compute-class fallback."""

from __future__ import annotations

import pytest

from coscale.cost.compute_class import resolve_compute_class
from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.roofline import collective_time, op_cost
from coscale.hardware.catalog import load_hardware
from coscale.specs.hardware import System
from coscale.workload.ops import Collective, Op

EFF = EfficiencyModel()


def h100(gpus=1):
    return System(hardware=load_hardware("h100-sxm"), num_gpus=gpus)


def gemm(m, n, k, bpe=2.0, cls="bf16"):
    return Op(name="g", kind="gemm", layer="x", count=1, flops=2.0 * m * n * k, weight_bytes=n * k * bpe,
              act_bytes=m * k * bpe + m * n * 2, compute_class=cls, gemm_mnk=(m, n, k))


def test_bound_classification():
    assert op_cost(gemm(8192, 8192, 8192), h100(), EFF).bound == "compute"
    assert op_cost(gemm(1, 8192, 8192), h100(), EFF).bound == "memory"
    assert op_cost(gemm(1, 64, 64), h100(), EFF).bound == "latency"


def test_large_gemm_time_is_flops_over_calibrated_peak():
    op = gemm(8192, 8192, 8192)
    cost = op_cost(op, h100(), EFF)
    waves = 4096 / (32 * 132)  # 64 x 64 tiles of 128 x 128 over 132 SMs: 31.03 waves run as 32
    # 989.4 TFLOP/s: H100 SXM dense BF16 (datasheet); 0.80 of it: the large-GEMM fraction, from cuBLAS FP16
    # 8192x8192x65536 at ~623-627 of 756 TFLOP/s on H100 PCIe (0.83), rounded down for tile/wave losses.
    # K fill: each 128 x 128 tile pays 1.3 us its K pipeline does not hide (ParallelKittens BF16 K=512 vs 8192)
    # against a main loop of 2 * 128 * 128 * k / (989.4e12 / 132 * 0.80) s on one SM
    k_half = 1.3e-6 * 989.4e12 / 132 * 0.80 / (2 * 128 * 128)
    k_fill = 8192 / (8192 + k_half)
    assert 0.97 < k_fill < 0.98
    assert cost.time_s == pytest.approx(op.flops / (989.4e12 * 0.80 * waves * k_fill), rel=1e-6)


def test_wave_quantisation_penalises_partial_waves():
    hw = h100()
    full = op_cost(gemm(128 * 132, 128, 4096), hw, EFF).compute_efficiency
    partial = op_cost(gemm(128 * 133, 128, 4096), hw, EFF).compute_efficiency
    assert partial == pytest.approx(full * 133 / 264)


def test_all_reduce_ring_formula():
    size = 2**30
    t = collective_time(Collective(kind="all_reduce", bytes=size, group=8), h100(8).link_for(8), EFF)
    # 450 GB/s per direction (NVLink 4, 900 GB/s bidirectional); the NCCL size curve size / (size + 10 MiB),
    # 10 MiB fitted on nccl-tests all_reduce bus bandwidth on 8x H100 SXM (8 MiB 177, 1 GiB 466 GB/s)
    bw = 450e9 * size / (size + 10 * 2**20)
    assert t == pytest.approx(h100(8).hardware.links.scaleup.latency_s + 2 * 7 / 8 * size / bw)


def test_collective_crossing_nodes_uses_scale_out():
    inside = collective_time(Collective(kind="all_gather", bytes=1e9, group=8), h100(16).link_for(8), EFF)
    across = collective_time(Collective(kind="all_gather", bytes=1e9, group=16), h100(16).link_for(16), EFF)
    assert across > 8 * inside


def test_compute_class_fallbacks_are_explained():
    h = load_hardware("h100-sxm")
    r = resolve_compute_class(h, "fp4")
    assert r.used == "fp8" and "no FP4 tensor cores" in r.note
    assert resolve_compute_class(load_hardware("b200"), "fp4").used == "fp4"
    assert resolve_compute_class(load_hardware("a100-sxm-80gb"), "fp8").used == "bf16"
    assert resolve_compute_class(h, "bf16").note is None
