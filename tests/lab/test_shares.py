"""`linear_census`: per-linear GEMM FLOPs from the rows each linear received, against the step's total."""

from __future__ import annotations

import torch

from coscale.lab.data import train_batch
from coscale.lab.recipes import get_recipe
from coscale.lab.shares import linear_census
from coscale.lab.train import build_model


def _census(preset, corpus, recipe="bf16"):
    model = build_model(preset, get_recipe(recipe), seed=0, vocab_size=corpus.vocab_size, device=torch.device("cpu"))
    x, y = train_batch(corpus, seed=0, step=0, batch_size=2, seq_len=preset.train.seq_len)
    return model, linear_census(model, torch.cat([x, y[:, -1:]], dim=1)), x.numel()


def test_moe_experts_share_exactly_the_routed_tokens(tiny_preset, corpus):
    """Conservation: the experts' up-projections together see every token top_k times, no more."""
    _, census, tokens = _census(tiny_preset, corpus)
    m = tiny_preset.model
    moe = [i for i, kind in enumerate(m.pattern) if kind == "E"]
    assert moe
    for i in moe:
        up = [name for name in census.flops if name.startswith(f"blocks.{i}.") and name.endswith(".up")]
        assert len(up) == m.n_experts
        width = 2 * m.expert_hidden if m.mlp_activation == "swiglu" else m.expert_hidden
        assert sum(census.flops[name] for name in up) == 2 * 3 * tokens * m.top_k * m.d_model * width


def test_every_dense_linear_counts_three_gemms_over_all_tokens(tiny_preset, corpus):
    model, census, tokens = _census(tiny_preset, corpus)
    modules = dict(model.named_modules())
    for name, flops in census.flops.items():
        if ".experts." not in name:
            lin = modules[name]
            assert flops == 6 * tokens * lin.in_features * lin.out_features, name


def test_shares_are_fractions_of_the_whole_step(tiny_preset, corpus):
    """The linears are part of the step's GEMMs (the LM head and the attention BMMs are the rest)."""
    _, census, tokens = _census(tiny_preset, corpus)
    head = 6 * tokens * tiny_preset.model.d_model * corpus.vocab_size
    assert sum(census.flops.values()) + head <= census.total_flops
    every = dict.fromkeys(census.flops, "quant")
    share = census.shares(every)
    assert 0.5 < share["gemm_flops"] < 1 and 0.5 < share["weights"] < 1
    assert census.shares({}) == {"weights": 0.0, "gemm_flops": 0.0}
