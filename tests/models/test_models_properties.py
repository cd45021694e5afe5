"""Properties over generated configs, and the parameter formulas against a torch module reference."""

from __future__ import annotations

import json
from pathlib import Path

import models_torch_reference as ref
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coscale.models import count_params, kv_cache_bytes_per_sequence, kv_cache_bytes_per_token
from coscale.models.loader import parse_config

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def llama_configs(draw: st.DrawFn) -> dict:
    kv = draw(st.integers(1, 4))
    heads = kv * draw(st.integers(1, 4))
    hd = draw(st.sampled_from([4, 8, 16]))
    arch = draw(st.sampled_from(["LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "MixtralForCausalLM"]))
    cfg = {
        "architectures": [arch],
        "hidden_size": draw(st.integers(8, 96)),
        "intermediate_size": draw(st.integers(1, 128)),
        "num_hidden_layers": draw(st.integers(1, 4)),
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "head_dim": hd,
        "vocab_size": draw(st.integers(1, 300)),
        "tie_word_embeddings": draw(st.booleans()),
        "max_position_embeddings": 64,
    }
    if arch == "MixtralForCausalLM":
        cfg["num_local_experts"] = draw(st.integers(1, 6))
        cfg["num_experts_per_tok"] = draw(st.integers(1, cfg["num_local_experts"]))
    return cfg


def parse(cfg: dict):
    return parse_config(cfg, name="t", where="generated config.json")


@FAST
@given(llama_configs())
def test_dense_and_moe_match_torch_reference(cfg: dict) -> None:
    assert count_params(parse(cfg)).total == ref.llama_like(cfg)


@FAST
@given(
    st.integers(8, 64).map(lambda x: 4 * x),
    st.integers(1, 4),
    st.integers(1, 500),
    st.integers(1, 64),
    st.one_of(st.none(), st.integers(1, 100)),
)
def test_gpt2_matches_torch_reference(h: int, n: int, vocab: int, pos: int, inner: int | None) -> None:
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "n_embd": h,
        "n_layer": n,
        "n_head": 4,
        "n_inner": inner,
        "vocab_size": vocab,
        "n_positions": pos,
    }
    assert count_params(parse(cfg)).total == ref.gpt2(cfg)


@FAST
@given(st.integers(1, 4).map(lambda x: 32 * x), st.integers(1, 3), st.integers(1, 200), st.sampled_from([1, 8, 16]))
def test_mamba2_matches_torch_reference(h: int, n: int, vocab: int, mult: int) -> None:
    cfg = {
        "d_model": h,
        "n_layer": n,
        "vocab_size": vocab,
        "ssm_cfg": {"layer": "Mamba2", "d_state": 16},
        "pad_vocab_size_multiple": mult,
    }
    assert count_params(parse(cfg)).total == ref.mamba2_ssm(cfg, d_state=16)


def test_mamba2_preset_matches_torch_reference() -> None:
    path = Path(__file__).parents[2] / "src/coscale/models/presets/mamba2-2.7b.json"
    cfg = json.loads(path.read_text())
    assert count_params(parse(cfg)).total == ref.mamba2_ssm(cfg)


@FAST
@given(llama_configs())
def test_active_never_exceeds_total_and_doubling_layers_doubles_body(cfg: dict) -> None:
    one = count_params(parse(cfg))
    assert one.embedding <= one.active <= one.total
    two = count_params(parse({**cfg, "num_hidden_layers": 2 * cfg["num_hidden_layers"]}))
    body = one.non_embedding - one.final_norm
    assert two.non_embedding - two.final_norm == 2 * body
    if cfg["architectures"][0] == "MixtralForCausalLM" and cfg["num_experts_per_tok"] == cfg["num_local_experts"]:
        assert one.active == one.total


@FAST
@given(llama_configs(), st.integers(0, 5000), st.sampled_from([0.5, 0.5625, 1, 2]))
def test_kv_cache_is_linear_in_context_and_precision(cfg: dict, ctx: int, bpe: float) -> None:
    spec = parse(cfg)
    per_token = kv_cache_bytes_per_token(spec, bpe)
    assert per_token == pytest.approx(2 * cfg["num_hidden_layers"] * cfg["num_key_value_heads"] * cfg["head_dim"] * bpe)
    assert kv_cache_bytes_per_sequence(spec, ctx, bpe) == pytest.approx(ctx * per_token)


@FAST
@given(llama_configs(), st.integers(1, 64), st.integers(0, 500))
def test_sliding_window_caps_mistral_cache(cfg: dict, window: int, ctx: int) -> None:
    spec = parse({**cfg, "architectures": ["MistralForCausalLM"], "sliding_window": window})
    full = parse({**cfg, "architectures": ["MistralForCausalLM"]})
    assert kv_cache_bytes_per_token(spec, 2) == 0
    assert kv_cache_bytes_per_sequence(spec, ctx, 2) == kv_cache_bytes_per_sequence(full, min(ctx, window), 2)


def test_hf_mamba1_config_counts_like_the_130m_checkpoint() -> None:
    # state-spaces/mamba-130m-hf config.json sizes; the checkpoint is published as 130M parameters
    cfg = {"architectures": ["MambaForCausalLM"], "hidden_size": 768, "num_hidden_layers": 24, "vocab_size": 50280,
           "state_size": 16, "expand": 2, "conv_kernel": 4, "time_step_rank": 48, "use_bias": False,
           "use_conv_bias": True, "tie_word_embeddings": True}  # fmt: skip
    spec = parse(cfg)
    assert count_params(spec).total == 129_135_360
    assert spec.layers[0].mixer.dt_rank == 48 and spec.layers[0].kind == "mamba1"
    auto = parse({**cfg, "time_step_rank": "auto"})
    assert auto.layers[0].mixer.dt_rank == 48  # ceil(768 / 16)


def test_hf_mamba2_config_matches_mamba_ssm_layout() -> None:
    hf = {"architectures": ["Mamba2ForCausalLM"], "hidden_size": 2560, "num_hidden_layers": 64, "vocab_size": 50288,
          "state_size": 128, "expand": 2, "n_groups": 1, "head_dim": 64, "num_heads": 80, "conv_kernel": 4,
          "tie_word_embeddings": True}  # fmt: skip
    ssm = json.loads((Path(__file__).parents[2] / "src/coscale/models/presets/mamba2-2.7b.json").read_text())
    assert count_params(parse(hf)).total == count_params(parse(ssm)).total
