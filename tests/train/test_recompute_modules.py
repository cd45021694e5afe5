"""Selective recompute of named modules (TrainOptions.recompute_modules, Megatron --recompute-modules)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.models.registry import load_model
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.recompute_modules import RECOMPUTE_MODULES, check_modules
from coscale.train.step import step_breakdown

from .helpers import context


def test_unknown_module_is_a_user_error_naming_the_known_ones() -> None:
    with pytest.raises(CoscaleError, match="moe_act"):
        TrainOptions(recompute_modules=("attention_everything",))
    assert check_modules(["layernorm", "moe_act"]) == ("layernorm", "moe_act")


def _recompute_s(modules: tuple[str, ...], recompute: str = "none", model: str = "gpt-oss-120b") -> float:
    ctx = context(load_model(model), hardware="b200", gpus=8, options=TrainOptions(recompute_modules=modules))
    layout = TrainLayout(gpus=8, dp=8, ep=8, micro_batch=1, global_batch=16, seq_len=4096, recompute=recompute)
    return step_breakdown(ctx, layout).recompute_s


@settings(max_examples=12, deadline=None)
@given(st.sets(st.sampled_from(sorted(RECOMPUTE_MODULES))))
def test_more_modules_recompute_more_and_never_more_than_full(modules: set[str]) -> None:
    mods = tuple(sorted(modules))
    t = _recompute_s(mods)
    assert t >= 0.0
    for extra in RECOMPUTE_MODULES:
        if extra not in modules:
            assert _recompute_s((*mods, extra)) >= t - 1e-15
    assert t <= _recompute_s((), "full") + 1e-12


def test_moe_model_modules_cost_time_and_core_attn_equals_selective() -> None:
    assert _recompute_s(()) == 0.0
    assert _recompute_s(("moe_act",)) > 0.0
    assert _recompute_s(("layernorm",)) > 0.0
    assert _recompute_s(("core_attn",)) == pytest.approx(_recompute_s((), "selective"))
    # full recompute already re-runs every module: naming modules adds nothing
    assert _recompute_s(("layernorm", "moe_act"), "full") == pytest.approx(_recompute_s((), "full"))
    # a model without MLA has no MLA up-projection to re-run
    assert _recompute_s(("mla_up_proj",)) == 0.0
