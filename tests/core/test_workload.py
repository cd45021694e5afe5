"""Operator FLOPs and bytes against hand-derived formulas."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coscale.models.params import count_params
from coscale.models.registry import load_model
from coscale.specs.model import AttentionSpec
from coscale.specs.precision import STORAGE_FORMATS
from coscale.workload.build import forward_ops
from coscale.workload.ffn import deepep_normal_share, expected_active_experts
from coscale.workload.forward_pass import ForwardPass
from coscale.workload.shape import keys_per_query


def make_pass(phase="decode", seqs=1, new=1, ctx=0, tp=1, ep=1, adp=1, weights="bf16", kv="bf16") -> ForwardPass:
    f = STORAGE_FORMATS
    return ForwardPass.single(phase, seqs, new, ctx, tp=tp, ep=ep, attention_dp=adp,
                       weights=f[weights], activations=f["bf16"], kv_cache=f[kv], gemm_class="bf16",
                       attention_class="bf16")


def total(ops, attr="flops", name=None):
    return sum(getattr(o, attr) * o.count for o in ops if name is None or o.name == name)


def test_dense_decode_flops_are_two_per_weight_plus_attention():
    model = load_model("llama-3.1-8b")
    ops = forward_ops(model, make_pass(seqs=1, ctx=0))
    counts = count_params(model)
    # one token: 2 FLOPs per weight of every GEMM (embedding lookup excluded), attention over 1 key
    gemm_flops = total([o for o in ops if o.kind == "gemm"])
    expected = 2 * (counts.total - counts.embedding)
    assert gemm_flops == pytest.approx(expected, rel=2e-3)  # norms are not GEMMs


def test_prefill_attention_flops_causal():
    model = load_model("llama-3.1-8b")
    s = 4096
    ops = forward_ops(model, make_pass(phase="prefill", seqs=2, new=s))
    # 4 * s * keys * d per head with keys = (s+1)/2 under the causal mask, 32 heads, 32 layers
    expected = 32 * 2 * 4 * s * (s + 1) / 2 * 128 * 32
    assert total(ops, name="attn.core") == pytest.approx(expected)


def test_tensor_parallel_splits_gemm_flops():
    model = load_model("llama-3.1-70b")
    one = total(forward_ops(model, make_pass(seqs=8, ctx=100)))
    four = total(forward_ops(model, make_pass(seqs=8, ctx=100, tp=4)))
    assert four == pytest.approx(one / 4, rel=0.01)


def test_decode_kv_bytes_match_cache_size():
    model = load_model("llama-3.1-8b")
    ctx = 1000
    ops = forward_ops(model, make_pass(seqs=3, ctx=ctx, kv="fp8"))
    # read ctx+1 tokens and write one: 32 layers x 8 kv heads x 256 (K+V) x 1 byte
    per_token = 32 * 8 * 256
    assert total(ops, "cache_bytes", "attn.core") == pytest.approx(3 * (ctx + 1) * per_token + 3 * per_token)


def test_mla_decode_reads_compressed_latent():
    model = load_model("deepseek-v3")
    ops = forward_ops(model, make_pass(seqs=1, ctx=999))
    assert total(ops, "cache_bytes", "attn.core") == pytest.approx(61 * 576 * 2 * (1000 + 1))


def test_mamba_state_traffic_is_independent_of_context():
    model = load_model("mamba2-2.7b")
    short = total(forward_ops(model, make_pass(seqs=4, ctx=10)), "cache_bytes")
    long = total(forward_ops(model, make_pass(seqs=4, ctx=100_000)), "cache_bytes")
    assert short == long > 0


def test_sliding_window_caps_keys():
    spec = AttentionSpec(num_heads=8, num_kv_heads=8, head_dim=64, v_head_dim=64, sliding_window=128)
    assert keys_per_query(1, 100_000, spec.sliding_window) == 128
    assert keys_per_query(1, 10, spec.sliding_window) == 11
    assert keys_per_query(1000, 0, spec.sliding_window) == pytest.approx((128 * 129 / 2 + 872 * 128) / 1000)


@given(st.integers(1, 512), st.integers(1, 8), st.integers(1, 10_000))
def test_expected_active_experts_bounds(experts, k, tokens):
    k = min(k, experts)
    active = expected_active_experts(experts, k, tokens)
    assert k - 1e-9 <= active <= experts + 1e-9
    assert expected_active_experts(experts, k, tokens + 1) >= active - 1e-9


def test_moe_decode_reads_only_touched_experts():
    model = load_model("qwen3-30b-a3b")
    small = total(forward_ops(model, make_pass(seqs=1, ctx=10)), "weight_bytes", "moe.experts_up")
    big = total(forward_ops(model, make_pass(seqs=512, ctx=10)), "weight_bytes", "moe.experts_up")
    assert big / small == pytest.approx(128 / 8, rel=0.01)  # one token touches 8 of 128 experts; 512 touch all


def test_expert_parallel_adds_all_to_all():
    model = load_model("qwen3-30b-a3b")
    ops = forward_ops(model, make_pass(seqs=64, ctx=10, ep=8, adp=8))
    kinds = {o.collective.kind for o in ops if o.collective}
    assert kinds == {"all_to_all"}


@pytest.mark.parametrize("fmt", ["bf16", "fp8", "nvfp4"])
def test_deepep_dispatches_rows_in_the_activation_format(fmt):
    model = load_model("qwen3-30b-a3b")
    f = STORAGE_FORMATS

    def a2a(backend: str) -> dict[str, float]:
        p = ForwardPass.single("decode", 64, 1, 10, ep=8, attention_dp=8, weights=f[fmt], activations=f[fmt],
                               kv_cache=f["bf16"], gemm_class="bf16", attention_class="bf16", moe_a2a=backend)
        ops = [o for o in forward_ops(model, p) if o.collective]
        assert {o.collective.backend for o in ops} == {backend}
        return {o.name: o.collective.bytes * o.count for o in ops}

    bf16, quantized = a2a("nccl"), a2a("deepep")
    assert bf16["moe.dispatch"] == pytest.approx(bf16["moe.combine"])  # BF16 both ways by default
    assert quantized["moe.combine"] == pytest.approx(bf16["moe.combine"])  # the experts' outputs return in BF16
    ratio = f[fmt].bytes_per_element / 2.0  # FP8 1 byte, NVFP4 0.5 + one E4M3 scale per 16 values
    assert quantized["moe.dispatch"] == pytest.approx(bf16["moe.dispatch"] * ratio)


@given(st.integers(0, 600), st.integers(1, 300), st.one_of(st.none(), st.integers(1, 400)))
def test_keys_per_query_matches_brute_force(context, new, window):
    spec = AttentionSpec(num_heads=8, num_kv_heads=8, head_dim=64, v_head_dim=64, sliding_window=window)
    expected = sum(min(q, window or q) for q in range(context + 1, context + new + 1)) / new
    assert keys_per_query(new, context, spec.sliding_window) == pytest.approx(expected)


@pytest.mark.parametrize(("mode", "phase", "deduplicated"), [("auto", "prefill", True), ("auto", "decode", False),
                                                             ("normal", "decode", True),
                                                             ("low_latency", "prefill", False)])
def test_deepep_mode_sets_the_rows_the_all_to_all_moves(mode, phase, deduplicated):
    model = load_model("deepseek-v3")
    f = STORAGE_FORMATS

    def a2a(backend: str, deepep_mode: str = "auto") -> float:
        p = ForwardPass.single(phase, 4, 64, 0, ep=32, attention_dp=32, weights=f["fp8"], activations=f["fp8"],
                               kv_cache=f["bf16"], gemm_class="fp8", attention_class="bf16", moe_a2a=backend,
                               deepep_mode=deepep_mode, scaleup_domain=8)
        return sum(o.collective.bytes * o.count for o in forward_ops(model, p) if o.name == "moe.combine")

    share = deepep_normal_share(model.layers[-1].ffn, 32, 8)
    assert a2a("deepep", mode) == pytest.approx(a2a("nccl") * (share if deduplicated else 1.0))
