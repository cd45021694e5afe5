"""Training GEMMs move each recipe's own bytes, block scales included: MXFP8 and FP8-block are not
costed as per-tensor FP8 (the bug this guards: both used to read 1 byte per element)."""

from __future__ import annotations

import pytest

from coscale.hardware.catalog import load_hardware
from coscale.train.layout import TrainOptions
from coscale.train.passes import ShardKey, layer_forward_ops, training_pass
from coscale.train.precision import get_training_precision
from coscale.workload.forward_pass import OUTPUT_BYTES

from .helpers import gpt

KEY = ShardKey(tp=2, cp=1, ep=1, micro_batch=2, seq_len=2048)
# bits per element with scales (reference/numerics.md 2.1 MX: 8.25; 1.3 / 5.2 DeepSeek-V3 FP8 blocks:
# 1x128 activations and 128x128 weights with FP32 scales; per-tensor FP8: 8)
WEIGHT_BITS = {"fp8": 8.0, "mxfp8": 8.25, "fp8-block": 8 + 32 / 128**2, "nvfp4": 4.5}
INPUT_BITS = {"fp8": 8.0, "mxfp8": 8.25, "fp8-block": 8 + 32 / 128, "nvfp4": 4.5}
# per-tensor current scaling (fp8 = fp8-tensor) reads the 16-bit input once more for its amax
AMAX_READS = {"fp8": 1.0, "mxfp8": 0.0, "fp8-block": 0.0, "nvfp4": 0.0}


def _ops(precision: str) -> dict[str, object]:
    model = gpt(1024, 2, 16)
    p = training_pass(KEY, load_hardware("b200"), get_training_precision(precision))
    ops = layer_forward_ops(model, model.layers[0], p, KEY, get_training_precision(precision), TrainOptions())
    return {op.name: op for op in ops}


@pytest.mark.parametrize("precision", sorted(WEIGHT_BITS))
def test_gemm_operands_carry_the_recipes_block_scales(precision: str) -> None:
    ops = _ops(precision)
    gemms = [op for op in ops.values() if op.kind == "gemm"]
    assert gemms
    for op in gemms:
        m, n, k = op.gemm_mnk
        assert op.weight_bytes == pytest.approx(n * k * WEIGHT_BITS[precision] / 8, rel=1e-12)
        assert op.act_bytes == pytest.approx(m * k * INPUT_BITS[precision] / 8 + m * n * OUTPUT_BYTES, rel=1e-12)
        # the cast kernel before it reads 16-bit (twice with current scaling: amax, then cast) and writes
        # row- and column-wise copies with scales
        cast = ops[op.name + ".cast"]
        reads = (1.0 + AMAX_READS[precision]) * OUTPUT_BYTES
        assert cast.act_bytes == pytest.approx(m * k * (reads + 2 * INPUT_BITS[precision] / 8), rel=1e-12)


def test_delayed_scaling_skips_the_amax_pass_that_current_scaling_pays() -> None:
    current, delayed = _ops("fp8-tensor"), _ops("fp8-delayed")
    for name, op in current.items():
        if name.endswith(".cast"):
            m_k = delayed[name].act_bytes / (OUTPUT_BYTES + 2.0)
            assert op.act_bytes - delayed[name].act_bytes == pytest.approx(OUTPUT_BYTES * m_k, rel=1e-12)


def test_block_scaled_fp8_moves_more_than_per_tensor_fp8() -> None:
    per_tensor, mx, block = _ops("fp8"), _ops("mxfp8"), _ops("fp8-block")
    for name, op in per_tensor.items():
        if op.kind == "gemm":
            assert mx[name].weight_bytes / op.weight_bytes == pytest.approx(8.25 / 8)
            assert block[name].weight_bytes > op.weight_bytes and block[name].act_bytes > op.act_bytes
            assert mx[name].compute_class == block[name].compute_class == op.compute_class == "fp8"


def test_bf16_and_fp16_gemms_have_no_cast_kernels() -> None:
    for precision in ("bf16", "fp16"):
        ops = _ops(precision)
        assert not [n for n in ops if n.endswith(".cast")]
        assert all(op.weight_bytes == 2.0 * op.gemm_mnk[1] * op.gemm_mnk[2] for op in ops.values() if op.kind == "gemm")
