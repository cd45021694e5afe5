"""The efficiency curves and the kernel roofline on H100 SXM, worked by hand from the Hopper family's
stated constants (128x128 tiles and a 16-row minimum tile from CUTLASS sm90 kernels, split-K slices of
>= 256, 0.80 of the BF16 peak from cuBLAS, FlashAttention-3's 0.75 reached at long keys with half of it
at 256 keys, NCCL's half-bandwidth message of 10 MiB, DeepEP's 0.78 for all-to-all, a 2.5 us kernel
floor) and the datasheet's 132 SMs, 67 TFLOP/s FP32 and NVLink 4 at 450 GB/s per direction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.cost.curves import attention_efficiency, gemm_efficiency
from coscale.cost.roofline import COMPUTE, LATENCY, MEMORY, _peak_rate, collective_time, kernel_time
from coscale.hardware.catalog import load_hardware
from coscale.specs.hardware import System
from coscale.workload.ops import VECTOR, Collective

H100 = load_hardware("h100-sxm")
EFF = H100.efficiency
MIB = 2.0**20


def test_the_family_constants_are_the_stated_ones() -> None:
    assert (EFF.gemm_tile, EFF.gemm_min_tile_m, EFF.split_k_min) == (128, 16, 256)
    assert EFF.gemm_peak["bf16"] == 0.80 and EFF.attention_peak["bf16"] == 0.75 and EFF.attention_ramp_keys == 256
    assert EFF.collective_half_bytes == 10 * MIB and EFF.all_to_all_peak == 0.78 and EFF.min_kernel_s == 2.5e-6
    assert H100.compute.compute_units == 132 and H100.compute.peak("fp32") == 67e12


@pytest.mark.parametrize(("m", "n", "k", "units", "want"), [
    # decode GEMV: a 16-row tile holds 1 row (fill 1/16); 32 column tiles, split-K 4 -> 128 slices on 132 SMs
    (1, 4096, 4096, 132, 0.80 * (4096 / (32 * 16 * 128)) * (128 / 132)),
    # 48 rows: the next power of two is 64, fill 0.75
    (48, 4096, 4096, 132, 0.80 * 0.75 * (128 / 132)),
    # 300 x 1000: 3 x 8 tiles of 128 (fill 300,000 / 393,216), split-K 5 -> 120 slices
    (300, 1000, 8192, 132, 0.80 * (300 * 1000 / (3 * 8 * 128 * 128)) * (120 / 132)),
    # a big GEMM: 64 x 64 tiles, 4096 slices in 32 waves of 132 (31.03 needed)
    (8192, 8192, 8192, 132, 0.80 * 4096 / (32 * 132)),
    # unknown compute units: no wave model
    (300, 1000, 8192, 0, 0.80 * (300 * 1000 / (3 * 8 * 128 * 128))),
    # split-K bounded by k: 256-long slices of k = 512 -> 2 splits of 32 tiles = 64 slices on 132 SMs
    (1, 4096, 512, 132, 0.80 * (1 / 16) * (64 / 132)),
])
def test_gemm_efficiency_by_hand(m: int, n: int, k: int, units: int, want: float) -> None:
    got = gemm_efficiency(EFF, "bf16", np.float64(m), n, k, units)
    assert float(got) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("keys", "want"), [(256, 0.375), (768, 0.5625), (0, 0.0)])
def test_attention_ramps_to_the_flashattention3_fraction(keys: int, want: float) -> None:
    assert float(attention_efficiency(EFF, "bf16", np.float64(keys))) == pytest.approx(want)


def test_all_to_all_time_by_hand() -> None:
    size = 2.0**30
    link = System(hardware=H100, num_gpus=8).link_for(8)
    t = collective_time(Collective(kind="all_to_all", bytes=size, group=8), link, EFF)
    bw = 450e9 * size / (size + 10 * MIB) * 0.78
    assert float(t) == pytest.approx(link.latency_s + 7 / 8 * size / bw)
    assert float(collective_time(Collective(kind="p2p", bytes=size, group=2), link, EFF)) == pytest.approx(
        link.latency_s + size / (450e9 * size / (size + 10 * MIB)))
    assert float(collective_time(Collective(kind="all_reduce", bytes=size, group=1), link, EFF)) == 0.0


@pytest.mark.parametrize("size", [2.0**20, 7 * 2.0**20, 2.0**30])
def test_deepep_all_to_all_has_no_size_ramp(size: float) -> None:
    """DeepEP's kernels reach their bandwidth from a few MB: latency + bytes over the all-to-all fraction of
    the link, at every size; NCCL's curve is slower below its half-bandwidth size and equal far above it."""
    link = System(hardware=H100, num_gpus=64).link_for(64)
    deepep = float(collective_time(Collective(kind="all_to_all", bytes=size, group=64, backend="deepep"), link, EFF))
    assert deepep == pytest.approx(link.latency_s + 63 / 64 * size / (link.bandwidth_Bps * 0.78))
    nccl = float(collective_time(Collective(kind="all_to_all", bytes=size, group=64), link, EFF))
    assert nccl > deepep
    assert nccl - link.latency_s == pytest.approx((deepep - link.latency_s) * (size + 10 * MIB) / size)


def test_kernel_time_is_the_slower_engine_above_the_launch_floor() -> None:
    t, code = kernel_time(np.array([0.0, 1e-6, 2e-3, 1e-3]), np.array([0.0, 5e-7, 1e-3, 2e-3]), 2.5e-6)
    assert t.tolist() == [0.0, 2.5e-6, 2e-3, 2e-3]
    assert code[1:].tolist() == [LATENCY, COMPUTE, MEMORY]


def test_vector_ops_run_at_the_fp32_rate_or_an_eighth_of_bf16() -> None:
    assert _peak_rate(H100, VECTOR) == 67e12
    groq = load_hardware("groq-lpu")
    if not groq.compute.peak("fp32"):
        rates = dict(groq.compute.rates())
        base = rates.get("bf16") or rates.get("fp16") or rates.get("tf32") or max(rates.values())
        assert _peak_rate(groq, VECTOR) == pytest.approx(base / 8)
    assert _peak_rate(H100, "fp4") == H100.compute.peak("fp8")  # no FP4 units: FP8 tensor cores


def test_k_fill_by_hand() -> None:
    """Each 128x128 tile pays 1.3 us its K pipeline does not hide, against a main loop of
    2 * 128 * 128 * k / (one SM's 989.4/132 TFLOP/s x 0.80) s: K fill k / (k + k_half)."""
    assert EFF.gemm_tile_fixed_s == 1.3e-6
    unit = 989.4e12 / 132
    k_half = 1.3e-6 * unit * 0.80 / (2 * 128 * 128)
    for k in (512, 8192):  # 4096 tiles: no split-K, so the whole K is one work item
        with_fill = gemm_efficiency(EFF, "bf16", np.float64(8192), 8192, k, 132, unit)
        without = gemm_efficiency(EFF, "bf16", np.float64(8192), 8192, k, 132)
        assert float(with_fill / without) == pytest.approx(k / (k + k_half), rel=1e-12)
    # split-K: 1 x 32 tiles on 132 SMs split K=4096 four ways, so each work item has K=1024
    split = gemm_efficiency(EFF, "bf16", np.float64(1), 4096, 4096, 132, unit)
    plain = gemm_efficiency(EFF, "bf16", np.float64(1), 4096, 4096, 132)
    assert float(split / plain) == pytest.approx(1024 / (1024 + k_half), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 20000), n=st.integers(1, 20000), k=st.integers(16, 65536),
       rate=st.floats(1e12, 1e14))
def test_k_fill_costs_more_on_a_faster_unit_and_never_helps(m: int, n: int, k: int, rate: float) -> None:
    """The fixed time is the same in seconds on every chip: a faster compute unit hides less of it,
    and with it the efficiency is never above the curve without it."""
    none = float(gemm_efficiency(EFF, "bf16", np.float64(m), n, k, 132))
    slow = float(gemm_efficiency(EFF, "bf16", np.float64(m), n, k, 132, rate))
    fast = float(gemm_efficiency(EFF, "bf16", np.float64(m), n, k, 132, 4 * rate))
    assert fast < slow < none
