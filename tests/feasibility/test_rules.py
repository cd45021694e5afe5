"""The feasibility rules: scalar and array forms agree, and the known reproducers are rejected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.feasibility import CODES, InfeasibleError, code_index, layout_mask, layout_violations, model_facts
from coscale.models.registry import load_model

MODELS = {name: model_facts(load_model(name)) for name in (
    "llama-3.1-8b", "qwen3-30b-a3b", "nemotron-h-8b", "jamba-1.5-mini", "deepseek-v3", "gpt-oss-20b",
    "mamba2-2.7b")}

small = st.integers(min_value=0, max_value=40)
opt = st.none() | st.integers(min_value=0, max_value=300)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from([*sorted(MODELS), None]), tp=small, pp=small, ep=small, cp=small, vp=small,
       dp=st.none() | small, gpus=opt, seq_len=opt, global_batch=opt, micro_batch=st.none() | small,
       context_len=st.none() | st.integers(min_value=0, max_value=300_000))
def test_mask_agrees_with_the_scalar_rules(name, tp, pp, ep, cp, vp, dp, gpus, seq_len, global_batch, micro_batch,
                                           context_len):
    facts = MODELS[name] if name else None
    kw = dict(tp=tp, pp=pp, ep=ep, cp=cp, vp=vp, dp=dp, gpus=gpus, seq_len=seq_len, global_batch=global_batch,
              micro_batch=micro_batch, context_len=context_len)
    found = layout_violations(facts, **kw)
    ok, code = layout_mask(facts, **kw)
    assert bool(ok) == (not found)
    assert int(code) == (code_index(found[0].code) if found else 0)
    assert [CODES.index(v.code) for v in found] == sorted(CODES.index(v.code) for v in found)


def test_mask_broadcasts_over_a_grid():
    facts = MODELS["llama-3.1-8b"]
    tp = np.arange(1, 65)[:, None]
    pp = np.arange(1, 40)[None, :]
    ok, code = layout_mask(facts, tp=tp, pp=pp)
    assert ok.shape == code.shape == (64, 39)
    for t in (1, 3, 8, 12, 64):
        for p in (1, 5, 16, 31, 39):
            found = layout_violations(facts, tp=t, pp=p)
            assert ok[t - 1, p - 1] == (not found)
            assert code[t - 1, p - 1] == (code_index(found[0].code) if found else 0)


@pytest.mark.parametrize(("model", "kw", "code", "field"), [
    ("llama-3.1-8b", dict(tp=3, pp=1), "tp_heads", "parallel.tp"),
    ("llama-3.1-8b", dict(tp=16, pp=1), None, None),  # KV heads replicated over 16 ranks
    ("llama-3.1-8b", dict(tp=1, pp=1, ep=2), "ep_dense", "parallel.ep"),
    ("qwen3-30b-a3b", dict(tp=1, pp=1, ep=3), "ep_experts", "parallel.ep"),
    ("qwen3-30b-a3b", dict(tp=2, pp=1, ep=3), "ep_tp", "parallel.ep"),
    ("nemotron-h-8b", dict(tp=1, pp=1, cp=2), "cp_mamba", "parallel.cp"),
    ("llama-3.1-8b", dict(tp=1, pp=1, cp=2), None, None),
    ("llama-3.1-8b", dict(tp=1, pp=33), "pp_layers", "parallel.pp"),
    ("llama-3.1-8b", dict(tp=1, pp=24), "pp_layers", "parallel.pp"),  # ceil(32/24)=2 per stage: 16 stages hold all
    ("llama-3.1-8b", dict(tp=1, pp=2, gpus=3), "gpus_instance", "parallel.gpus"),
    ("llama-3.1-8b", dict(tp=1, pp=1, context_len=200_000), "context", "request.input_len"),
])
def test_known_layouts(model, kw, code, field):
    found = layout_violations(load_model(model), **kw)
    if code is None:
        assert found == []
    else:
        assert found[0].code == code and found[0].field == field


def test_messages_use_spec_words_not_flags():
    err = InfeasibleError(layout_violations(load_model("llama-3.1-8b"), tp=3, pp=1))
    assert str(err) == ("parallel.tp=3 does not divide the 32 attention heads of Llama-3.1-8B; "
                        "use one of: 1, 2, 4, 8, 16, 32.")
    for v in layout_violations(load_model("qwen3-30b-a3b"), tp=3, pp=50, ep=5, cp=3, vp=2, dp=7, gpus=11,
                               seq_len=7, global_batch=5, micro_batch=2):
        assert "--" not in v.message


def test_every_code_has_a_summary():
    from coscale.feasibility.codes import SUMMARY

    assert set(SUMMARY) == set(CODES)
