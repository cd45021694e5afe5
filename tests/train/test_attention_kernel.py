"""Fused attention kernel effects in training (coscale.train.attention_kernel)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coscale.cost.curves import attention_efficiency
from coscale.hardware.catalog import load_hardware
from coscale.train.attention_kernel import (
    CALIBRATED_HEAD_DIM,
    QUERY_TILE,
    TENSOR_FLOPS_PER_CLOCK,
    special_function_slowdown,
    windowed_tiles,
)
from coscale.train.backward import FLASH_BACKWARD_RELATIVE_EFFICIENCY
from coscale.workload.ops import Op

FAMILIES = (*TENSOR_FLOPS_PER_CLOCK, "nvidia-ampere", "amd-cdna3")


@given(st.sampled_from(FAMILIES), st.sampled_from(("forward", "backward")), st.integers(16, 512))
def test_slowdown_is_one_at_calibration_and_never_a_speedup(family: str, direction: str, head_dim: int) -> None:
    assert special_function_slowdown(CALIBRATED_HEAD_DIM, family, direction) == pytest.approx(1.0)
    s = special_function_slowdown(head_dim, family, direction)
    assert s >= 1.0
    # narrower heads never run faster per FLOP
    assert special_function_slowdown(max(head_dim // 2, 1), family, direction) >= s - 1e-12


def test_blackwell_head_dim_64_is_special_function_bound_hopper_backward_is_not() -> None:
    assert special_function_slowdown(64, "nvidia-blackwell", "forward") == pytest.approx(2.0)
    assert special_function_slowdown(64, "nvidia-blackwell", "backward") == pytest.approx(1.6)
    assert special_function_slowdown(64, "nvidia-hopper", "forward") == pytest.approx(1.5)
    assert special_function_slowdown(64, "nvidia-hopper", "backward") == pytest.approx(1.0)
    assert special_function_slowdown(64, "nvidia-ampere", "forward") == 1.0  # no limit modelled


def _swa_op(window: int) -> Op:
    return Op(name="attn.core", kind="attention", layer="swa", count=1, flops=1e12, attn_len=window - 0.5)


@given(st.integers(1, 4096), st.integers(256, 131072))
def test_windowed_tiles_adds_one_query_tile_and_keeps_the_rate_of_flops_per_key(window: int, seq: int) -> None:
    op = _swa_op(window)
    out = windowed_tiles(op, window, seq)
    if window >= seq:
        assert out == op
        return
    assert out.attn_len == pytest.approx(min(op.attn_len + QUERY_TILE - 1, seq))
    assert out.flops / out.attn_len == pytest.approx(op.flops / op.attn_len)


def test_full_attention_and_other_ops_are_untouched() -> None:
    op = _swa_op(4096)
    assert windowed_tiles(op, None, 8192) == op
    gemm = Op(name="attn.qkv_proj", kind="gemm", layer="swa", count=1, flops=1e12)
    assert windowed_tiles(gemm, 128, 8192) == gemm


@pytest.mark.parametrize(("window", "fwd_tflops", "bwd_tflops"), [(1024, 609.0, 646.0), (128, 165.0, 187.0)])
def test_cudnn_gpt_oss_measurements_on_gb200(window: int, fwd_tflops: float, bwd_tflops: float) -> None:
    """cudnn-frontend sdpa_benchmark_training, gpt_oss config (head dim 64, BF16, causal sliding window,
    S=8192, FLOPs counted over the window): the modelled rates within 1.5x (the curve alone is 2-3x off)."""
    hw = load_hardware("gb200")
    keys = window + QUERY_TILE - 1.0
    rate = float(attention_efficiency(hw.efficiency, "bf16", np.float64(keys))) * hw.compute.bf16 * window / keys
    fwd = rate / special_function_slowdown(64, hw.efficiency.family, "forward") / 1e12
    bwd = rate * FLASH_BACKWARD_RELATIVE_EFFICIENCY / special_function_slowdown(64, hw.efficiency.family,
                                                                                "backward") / 1e12
    assert 1 / 1.5 < fwd / fwd_tflops < 1.5
    assert 1 / 1.5 < bwd / bwd_tflops < 1.5
    curve_only = float(attention_efficiency(hw.efficiency, "bf16", np.float64(window))) * hw.compute.bf16 / 1e12
    assert abs(np.log(fwd / fwd_tflops)) < abs(np.log(curve_only / fwd_tflops))
