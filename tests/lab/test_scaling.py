"""`run_scaling`: a width x steps grid of paired comparisons, paired trends, resume, bad grids."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from coscale.errors import CoscaleError
from coscale.lab.compare import CompareOptions, run_compare
from coscale.lab.model import LabLM, count_parameters
from coscale.lab.recipes import get_recipe
from coscale.lab.scaling import ScalingGrid, run_scaling, scaled_preset
from coscale.lab.stats import paired_stat

GRID = ScalingGrid(widths=(32, 64), steps=(2, 4), seeds=(0, 1))
RECIPES = ["bf16", "fp8-tensor"]


@pytest.fixture(scope="module")
def small(tiny_preset):
    return dataclasses.replace(tiny_preset, train=dataclasses.replace(tiny_preset.train, compare_val_batches=2))


@pytest.fixture(scope="module")
def sweep(small, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling")
    return run_scaling(small, [get_recipe(n) for n in RECIPES], corpus, GRID, out_dir=out), out


def test_width_scales_heads_and_hidden_sizes_in_proportion(tiny_preset):
    m = tiny_preset.model
    p = scaled_preset(tiny_preset, 2 * m.d_model, 7)
    assert p.model.d_model == 2 * m.d_model and p.model.head_dim == m.head_dim
    assert p.model.n_heads == 2 * m.n_heads and p.model.n_kv_heads == m.n_kv_heads
    assert (p.model.mlp_hidden, p.model.expert_hidden) == (2 * m.mlp_hidden, 2 * m.expert_hidden)
    assert p.model.pattern == m.pattern and p.train.steps == 7 and p.train.batch_size == tiny_preset.train.batch_size
    assert count_parameters(LabLM(p.model)) > count_parameters(LabLM(m))


def test_every_point_is_the_comparison_it_names(sweep, small, corpus, tmp_path):
    rec, out = sweep
    assert json.loads((out / "scaling.json").read_text()) == json.loads(json.dumps(rec))
    assert [(p["width"], p["steps"]) for p in rec["points"]] == [(32, 2), (32, 4), (64, 2), (64, 4)]
    for p in rec["points"]:
        assert p["tokens"] == p["steps"] * small.train.batch_size * small.train.seq_len
        assert math.isclose(p["tokens_per_param"], p["tokens"] / p["params"])
        assert (out / f"d{p['width']}-s{p['steps']}" / "compare.json").exists()
        gap = p["recipes"]["fp8-tensor"]["gap_pct"]
        assert len(gap["per_seed"]) == 2 and gap["ci95_low"] <= gap["mean"] <= gap["ci95_high"]
    # one point recomputed from scratch as a plain comparison gives the same paired gaps
    alone = run_compare(scaled_preset(small, 64, 4), [get_recipe(n) for n in RECIPES], corpus, out_dir=tmp_path,
                        options=CompareOptions(seeds=GRID.seeds, ptq_schemes=(), target=None))
    runs = {r["recipe"]: r for r in alone["runs"]}
    assert runs["fp8-tensor"]["gap_pct"] == rec["points"][-1]["recipes"]["fp8-tensor"]["gap_pct"]


def test_trends_are_paired_per_seed_changes_between_points(sweep):
    rec, _ = sweep
    at = {(p["width"], p["steps"]): p["recipes"]["fp8-tensor"]["gap_pct"]["per_seed"] for p in rec["points"]}
    assert len(rec["trends"]) == 4  # width at each of 2 step counts, steps at each of 2 widths
    for t in rec["trends"]:
        if t["along"] == "width":
            lo, hi = at[(32, t["at_steps"])], at[(64, t["at_steps"])]
            assert t["params_ratio"] > 1
        else:
            lo, hi = at[(t["at_width"], 2)], at[(t["at_width"], 4)]
            assert t["tokens_ratio"] == 2
        expected = paired_stat([b - a for a, b in zip(lo, hi, strict=True)]).as_dict()
        assert t["change_pct_points"] == expected
        inside = expected["ci95_low"] <= 0 <= expected["ci95_high"]
        assert (t["verdict"] == "not separated") == inside
    reach = rec["reach"]
    assert reach["params_short_by"] > 1e4 and "no extrapolation" in reach["reading"]


def test_a_finished_sweep_resumes_without_training(sweep, small, corpus):
    rec, out = sweep
    again = run_scaling(small, [get_recipe(n) for n in RECIPES], corpus, GRID, out_dir=out)
    assert again["points"] == [dict(p, wall_seconds=q["wall_seconds"]) for p, q in zip(rec["points"], again["points"],
                                                                                        strict=True)]
    assert again["wall_seconds"] < rec["wall_seconds"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"widths": (64,), "steps": (4,)}, "at least two widths"),
    ({"widths": (64, 64), "steps": (4,)}, "distinct positive"),
    ({"widths": (64, 128), "steps": (0,)}, "distinct positive"),
    ({"widths": (64, 128), "steps": (4,), "seeds": (0,)}, ">= 2 seeds"),
])
def test_bad_grids_are_one_line_errors(kwargs, message):
    with pytest.raises(CoscaleError, match=message):
        ScalingGrid(**kwargs)


def test_a_width_without_whole_heads_is_refused(tiny_preset):
    with pytest.raises(CoscaleError, match="multiple of 32"):
        scaled_preset(tiny_preset, 40, 4)
