"""Model levers (variants of the architecture, optionally at fixed parameters) and cost per answer."""

from __future__ import annotations

import pytest

from coscale.errors import CoscaleError
from coscale.explore.feedback import variants as v
from coscale.explore.feedback.answers import published_figures, rank_answers
from coscale.explore.feedback.evaluate import pin_batches
from coscale.explore.feedback.model_levers import rank_model_levers
from coscale.explore.feedback.workload import parse_workload
from coscale.models.cache import kv_cache_bytes_per_token
from coscale.models.params import count_params
from coscale.models.registry import load_model
from coscale.specs.model import AttentionSpec, Mamba2Spec


def _model_levers(hw, spec):
    w = parse_workload(spec)
    return {m.name: m for m in rank_model_levers(hw, w, pin_batches(hw, w.entries), "throughput_per_gpu")}


@pytest.mark.parametrize("model, which", [("llama-3.1-8b", "total"), ("qwen3-30b-a3b", "active"),
                                          ("nemotron-h-8b", "total")])
def test_hold_params_keeps_the_count(model, which):
    m = load_model(model)
    variant = v.kv_heads(m, 0.5) or v.attention_to_mamba(m, 0.5)
    held, note = v.hold_params(m, variant[0], which)
    before, after = (getattr(count_params(x), which) for x in (m, held))
    assert abs(after / before - 1) < 0.02
    assert which in note and "FFN widths x" in note


def test_kv_heads_half_halves_the_cache():
    m = load_model("llama-3.1-8b")
    half, _ = v.kv_heads(m, 0.5)
    assert kv_cache_bytes_per_token(half, 2) == kv_cache_bytes_per_token(m, 2) / 2


def test_sliding_window_caps_half_the_cache(h100):
    m = load_model("llama-3.1-8b")
    windowed, change = v.sliding_window(m, 4096)
    assert "16 of 32" in change
    assert kv_cache_bytes_per_token(windowed, 2) == kv_cache_bytes_per_token(m, 2) / 2  # full layers only
    levers = _model_levers(h100, dict(model="llama-3.1-8b", precision="fp8", input_len=32768, output_len=512,
                                      batch=4))
    assert levers["sliding_window_half_4096"].context_gain > 0.5  # long contexts: the windowed half stops growing


def test_hybrid_ratio_variants():
    m = load_model("nemotron-h-8b")
    more_mamba, _ = v.attention_to_mamba(m, 0.5)
    more_attn, _ = v.attention_to_mamba(m, -0.25)

    def count(x, kind):
        return sum(isinstance(la.mixer, kind) for la in x.layers)
    assert count(more_mamba, AttentionSpec) < count(m, AttentionSpec) < count(more_attn, AttentionSpec)
    assert count(more_mamba, Mamba2Spec) > count(m, Mamba2Spec)
    assert v.attention_to_mamba(load_model("llama-3.1-8b"), 0.5) is None  # not a hybrid


def test_decode_heavy_dense_model_prefers_fewer_kv_heads(h100):
    levers = _model_levers(h100, dict(model="llama-3.1-8b", precision="fp8", input_len=1024, output_len=2048,
                                      model_levers={"hold": "total"}))
    assert levers["kv_heads_half"].gain > 0.1
    assert levers["kv_heads_half"].context_gain == pytest.approx(1.0, rel=0.02)
    assert levers["kv_heads_double"].context_gain == pytest.approx(-0.5, rel=0.02)
    assert levers["precision_bf16"].gain < 0 < levers["precision_nvfp4"].gain


def test_hybrid_more_mamba_buys_context(h100):
    levers = _model_levers(h100, dict(model="nemotron-h-8b", precision="fp8", input_len=4096, output_len=1024,
                                      model_levers={"hold": "total"}))
    assert levers["attention_to_mamba_half"].context_gain > 0.5
    assert levers["mamba_to_attention"].context_gain < 0


def test_moe_levers_and_bad_section(h100):
    levers = _model_levers(h100, dict(model="qwen3-30b-a3b", precision="fp8", input_len=1024, output_len=1024,
                                      model_levers={"hold": "active"}))
    assert {"moe_top_k_minus_1", "moe_experts_half", "moe_experts_double"} <= set(levers)
    assert levers["moe_experts_double"].params_total > levers["moe_experts_half"].params_total
    with pytest.raises(CoscaleError, match="hold must be one of"):
        _model_levers(h100, dict(model="llama-3.1-8b", precision="fp8", input_len=64, output_len=64,
                                 model_levers={"hold": "params"}))


def test_published_output_lengths_have_sources():
    figures = published_figures()
    assert figures["deepseek-r1-0528/aime-2025"]["mean_output_tokens"] == 23000
    assert figures["deepseek-r1/aime-2025"]["mean_output_tokens"] == 12000
    assert all(f["source"] and f["trust"] for f in figures.values())


def test_fewer_tokens_per_answer_win_by_about_that_factor(h100):
    w = parse_workload(dict(model="llama-3.1-8b", precision="fp8", input_len=512, output_len=1, batch=32,
                            usd_per_gpu_hour=2.0, answers=[
                                dict(name="short", tokens_per_answer=2000, batch=16),
                                dict(name="long", tokens_per_answer={"samples": [8000, 10000, 12000]}, quality=0.9,
                                     batch=16),
                                dict(name="published", tokens_per_answer="deepseek-r1/aime-2025", batch=16)]))
    ranked = rank_answers(h100, w)
    by = {a.name: a for a in ranked}
    assert [a.name for a in ranked] == ["short", "long", "published"]
    ratio = by["long"].cost_per_answer / by["short"].cost_per_answer
    assert 5.0 <= ratio < 10.0  # same concurrency: 5x the tokens, each dearer (a longer cache to read per step)
    assert by["long"].latency_p90_s > by["long"].latency_mean_s
    assert by["published"].quality == 0.70 and by["long"].cost_per_correct == by["long"].cost_per_answer / 0.9


def test_long_answers_also_shrink_the_batch(h100):
    """With the largest batch that fits, a long answer's cache crowds out others: worse than proportional."""
    w = parse_workload(dict(model="llama-3.1-8b", precision="fp8", input_len=512, output_len=1, usd_per_gpu_hour=2.0,
                            answers=[dict(name="short", tokens_per_answer=2000),
                                     dict(name="long", tokens_per_answer=10000)]))
    by = {a.name: a for a in rank_answers(h100, w)}
    assert by["long"].cost_per_answer / by["short"].cost_per_answer > 7.0


@pytest.mark.parametrize("spec, words", [(0, "tokens_per_answer must be"), ("nope/bench", "no published output"),
                                         ({"samples": []}, "tokens_per_answer must be")])
def test_bad_tokens_per_answer(h100, spec, words):
    w = parse_workload(dict(model="llama-3.1-8b", precision="fp8", input_len=512, output_len=1,
                            answers=[dict(tokens_per_answer=spec)]))
    with pytest.raises(CoscaleError, match=words):
        rank_answers(h100, w)
