"""Formulas against hand-derived cases: bytes per parameter, Korthikanti activations, 6N FLOPs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.models.params import count_params
from coscale.models.registry import load_model
from coscale.train.activations import ActShape, layer_activation_bytes
from coscale.train.backward import (
    UNFUSED_CE_BACKWARD_BYTES,
    UNFUSED_CE_FORWARD_BYTES,
    backward_ops,
    is_flash_backward,
)
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.memory import inflight_microbatches, stage_layers, state_bytes_per_param
from coscale.train.passes import ShardKey, head_forward_ops, layer_forward_ops, training_pass
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training
from coscale.workload.ops import Op

from .helpers import context, gpt


def test_mixed_precision_adam_is_16_bytes_and_18_with_fp32_grad_accumulation() -> None:
    bf16 = get_training_precision("bf16")
    assert state_bytes_per_param(bf16, fp32_grad_accum=False) == 16.0  # 2 + 2 + 12 (ZeRO paper)
    assert state_bytes_per_param(bf16, fp32_grad_accum=True) == 18.0  # Megatron main_grad
    assert state_bytes_per_param(get_training_precision("fp8"), fp32_grad_accum=True) == 19.0  # + FP8 copy


_GPT = st.tuples(st.sampled_from([16, 32, 64]), st.integers(1, 64), st.sampled_from([512, 1024, 2048, 4096]),
                 st.integers(1, 8), st.sampled_from([1, 2, 4, 8]))


@settings(max_examples=60, deadline=None)
@given(_GPT)
def test_korthikanti_activation_formulas(params: tuple[int, int, int, int, int]) -> None:
    heads, head_dim_units, s, b, t = params
    h = heads * 16 * head_dim_units
    layer = gpt(h, 1, heads).layers[0]
    sbh = s * b * h
    score = 5 * heads * s / h

    def act(tp: int, sp: bool, recompute: str) -> float:
        shape = ActShape(s=s, b=b, h=h, tp=tp, sequence_parallel=sp, flash_attention=False, dropout=True)
        return layer_activation_bytes(layer, shape, recompute)  # type: ignore[arg-type]

    assert act(1, False, "none") == pytest.approx(sbh * (34 + score))
    assert act(t, False, "none") == pytest.approx(sbh * (10 + 24 / t + score / t))
    assert act(t, True, "none") == pytest.approx(sbh * (34 + score) / t)
    assert act(t, True, "selective") == pytest.approx(sbh * 34 / t)
    assert act(t, True, "full") == pytest.approx(2 * sbh / t)


def test_interleaved_pipeline_keeps_extra_microbatches() -> None:
    base = {"gpus": 64, "tp": 8, "pp": 8, "dp": 1, "global_batch": 64, "seq_len": 2048}
    assert inflight_microbatches(TrainLayout(**base)) == 8  # 1F1B: pp micro-batches on the first stage
    assert inflight_microbatches(TrainLayout(**base, vp=3)) == pytest.approx(8 * (1 + 7 / 24))
    few = TrainLayout(gpus=64, tp=8, pp=8, dp=1, global_batch=4, seq_len=2048)
    assert inflight_microbatches(few) == 4  # never more than the micro-batches there are


def test_stage_layers_interleave_chunks_round_robin() -> None:
    assert stage_layers(8, 2, 2) == [[0, 1, 4, 5], [2, 3, 6, 7]]
    assert sorted(j for s in stage_layers(126, 9, 7) for j in s) == list(range(126))


@pytest.mark.parametrize("h,layers,heads,seq", [(2048, 24, 16, 4096), (6144, 48, 64, 2048), (12288, 96, 96, 2048)])
def test_model_flops_are_6N_tokens_plus_full_attention(h: int, layers: int, heads: int, seq: int) -> None:
    """Narayanan et al. eq. 3 without recompute: 72 s L h^2 (1 + s/6h + V/12hL) per sequence."""
    model = gpt(h, layers, heads, seq=seq)
    ctx = context(model)
    expected = 72 * seq * layers * h**2 * (1 + seq / (6 * h) + 51200 / (12 * h * layers))
    flops = ctx.sample_flops(seq)
    assert flops.model == pytest.approx(expected, rel=1e-9)
    # Narayanan's count with full recompute: 96 s L h^2 (1 + s/6h + V/16hL)
    narayanan = 96 * seq * layers * h**2 * (1 + seq / (6 * h) + 51200 / (16 * h * layers))
    assert flops.published_hardware("full") == pytest.approx(narayanan)


def test_llama_flops_match_nvidia_model_flops_per_sample() -> None:
    """DGXC README: 4.74e14 (8B), 3.94e15 (70B), 2.17e16 (405B) per 8192-token sample."""
    for model, published in (("llama-3.1-8b", 4.74e14), ("llama-3.1-70b", 3.94e15), ("llama-3.1-405b", 2.17e16)):
        ctx = context(load_model(model))
        assert ctx.sample_flops(8192).model == pytest.approx(published, rel=0.01)
        n = count_params(ctx.model)
        six_n = 6 * (n.total - n.embedding) * 8192
        assert ctx.sample_flops(8192).model > six_n  # attention comes on top of 6*N*tokens


def test_backward_gemms_have_twice_the_forward_flops_with_transposed_shapes() -> None:
    op = Op(name="x", kind="gemm", layer="l", count=3, flops=2.0 * 64 * 128 * 256, gemm_mnk=(64, 128, 256))
    dgrad, wgrad = backward_ops(op)
    assert dgrad.gemm_mnk == (64, 256, 128) and wgrad.gemm_mnk == (256, 128, 64)
    assert dgrad.flops + wgrad.flops == 2 * op.flops
    attn = Op(name="a", kind="attention", layer="l", count=1, flops=1e9, attn_len=512.0)
    assert backward_ops(attn)[0].flops == 2.5e9


def test_unfused_attention_backward_recomputes_nothing_and_is_not_the_flash_kernel() -> None:
    """Pre-FlashAttention Megatron stores the softmax: its backward runs 2x the forward matmul FLOPs
    over twice the score bytes, at the GEMM/elementwise rates (no FlashAttention backward discount);
    with FlashAttention the backward recomputes the scores (2.5x) in the slower backward kernel."""
    model = gpt(4096, 4, 32)
    lay = TrainLayout(gpus=8, tp=8, micro_batch=1, global_batch=1, seq_len=2048, recompute="none", zero=0)
    times = {}
    for flash in (True, False):
        ctx = context(model, options=TrainOptions(flash_attention=flash, sequence_parallel=False))
        key = ShardKey(tp=8, cp=1, ep=1, micro_batch=1, seq_len=2048)
        p = training_pass(key, ctx.system.hardware, ctx.precision)
        fwd = [op for op in layer_forward_ops(model, model.layers[0], p, key, ctx.precision, ctx.options)
               if op.kind == "attention"]
        (bwd,) = backward_ops(fwd[0])
        assert is_flash_backward(bwd) is flash
        assert bwd.flops == (2.5 if flash else 2.0) * fwd[0].flops
        assert bwd.act_bytes == 2.0 * fwd[0].act_bytes
        times[flash] = predict_training(ctx, lay).step.compute_s
    assert times[False] > times[True]  # the stored s x s scores still cost more than FlashAttention


def test_unfused_cross_entropy_moves_52_bytes_per_logit_and_leaves_the_flops() -> None:
    """Megatron's unfused FP32 vocab-parallel cross-entropy: 38 bytes per logit forward, 14 backward;
    only the last pipeline stage pays it, and the model FLOPs (MFU) do not change."""
    model = gpt(2048, 4, 16, vocab=131072, seq=4096)
    key = ShardKey(tp=1, cp=1, ep=1, micro_batch=1, seq_len=4096)
    ctx = context(model)
    p = training_pass(key, ctx.system.hardware, ctx.precision)
    (_, fused), (_, unfused) = (head_forward_ops(model, p, fused_loss=f)[1] for f in (True, False))
    logits = p.tokens * 131072
    assert unfused.act_bytes == UNFUSED_CE_FORWARD_BYTES * logits
    assert sum(b.act_bytes for b in backward_ops(unfused)) == UNFUSED_CE_BACKWARD_BYTES * logits
    assert unfused.flops == fused.flops
    lay = TrainLayout(gpus=2, pp=2, micro_batch=1, global_batch=8, seq_len=4096, recompute="none", zero=0)
    a = predict_training(context(model, gpus=2), lay)
    b = predict_training(context(model, gpus=2, options=TrainOptions(cross_entropy_fusion=False)), lay)
    assert b.step_time_s > a.step_time_s and b.model_flops_per_step == a.model_flops_per_step
