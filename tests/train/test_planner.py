"""Plan search: valid grid, ranking, what-fits, and the error paths."""

from __future__ import annotations

import pytest

from coscale.errors import CoscaleError
from coscale.models.registry import load_model
from coscale.train.layout import TrainLayout
from coscale.train.planner import plan_training
from coscale.train.predict import predict_training
from coscale.train.search import enumerate_layouts

from .helpers import context


def test_every_enumerated_layout_is_valid_and_unique() -> None:
    model = load_model("qwen3-30b-a3b")
    layouts = list(enumerate_layouts(model, 16, 4096, 64, 8))
    assert len(layouts) == len(set(layouts)) > 100
    for lay in layouts:
        assert lay.tp * lay.cp * lay.pp * lay.dp == 16 and lay.tp <= 8
        assert 64 % (lay.dp * lay.micro_batch) == 0
        lay.check_model(model)
    assert any(lay.ep > 1 for lay in layouts)  # expert parallelism is searched for MoE models


def test_plan_returns_the_fastest_fitting_layout() -> None:
    ctx = context(load_model("llama-3.1-8b"), gpus=8)
    plan = plan_training(ctx, 4096, 64, top=5)
    assert plan.ranked and all(p.fits for p in plan.ranked)
    assert [p.step_time_s for p in plan.ranked] == sorted(p.step_time_s for p in plan.ranked)
    # brute force over the same grid agrees on the winner
    best = min((predict_training(ctx, lay) for lay in enumerate_layouts(ctx.model, 8, 4096, 64, 8)),
               key=lambda p: (p.step_time_s if p.fits else float("inf"), p.memory.total))
    assert best.step_time_s == pytest.approx(plan.ranked[0].step_time_s)
    assert "beats" in plan.why_best() or "ties" in plan.why_best()


def test_nothing_fits_names_a_gpu_count_that_would() -> None:
    ctx = context(load_model("llama-3.1-70b"), gpus=2)
    with pytest.raises(CoscaleError, match=r"would fit on \d+ GPUs"):
        plan_training(ctx, 8192, 64)


def test_layout_errors_explain_the_fix() -> None:
    with pytest.raises(CoscaleError, match="tp\\*cp\\*pp\\*dp"):
        TrainLayout(gpus=16, tp=8, dp=1, global_batch=8, seq_len=2048)
    with pytest.raises(CoscaleError, match="use 96 or 104"):
        TrainLayout(gpus=8, dp=8, global_batch=100, seq_len=2048)
    with pytest.raises(CoscaleError, match="empty"):
        predict_training(context(load_model("llama-3.1-8b")),
                         TrainLayout(gpus=8, pp=8, vp=8, global_batch=64, seq_len=2048))
