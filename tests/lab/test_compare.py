"""`run_compare`: paired multi-seed gaps, shares, planner trade-off, interruption and resume."""

from __future__ import annotations

import dataclasses
import json

import pytest

from coscale.lab.compare import CompareOptions, run_compare
from coscale.lab.interrupt import RunInterrupted
from coscale.lab.ptq import get_ptq_scheme
from coscale.lab.recipes import get_recipe
from coscale.lab.stats import gap_pct

RECIPES = ["bf16", "fp8-tensor", "nvfp4", "nvfp4-no-sr"]
OPTIONS = CompareOptions(seeds=(0, 1), ptq_schemes=(get_ptq_scheme("int8_channel"),), calibration_batches=1)


@pytest.fixture(scope="module")
def small(tiny_preset):
    """The tiny preset cut to 4 steps and a 2-batch comparison validation set: the default suite stays fast."""
    train = dataclasses.replace(tiny_preset.train, steps=4, compare_val_batches=2)
    return dataclasses.replace(tiny_preset, train=train)


@pytest.fixture(scope="module")
def record(small, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return run_compare(small, [get_recipe(n) for n in RECIPES], corpus, out_dir=out, options=OPTIONS), out


def test_gaps_are_paired_per_seed_with_intervals(record):
    rec, out = record
    assert json.loads((out / "compare.json").read_text()) == json.loads(json.dumps(rec))
    runs = {r["recipe"]: r for r in rec["runs"]}
    assert list(runs) == RECIPES and rec["seeds"] == [0, 1] and rec["tail_steps"] == 1
    assert "cosine decay to 0 at step 4" in rec["schedule"]
    base = {p["seed"]: p for p in runs["bf16"]["per_seed"]}
    assert runs["bf16"]["gap_pct"] == {"mean": 0.0, "ci95_low": 0.0, "ci95_high": 0.0, "per_seed": [0.0, 0.0]}
    for name in RECIPES[1:]:
        r = runs[name]
        assert not r["diverged"]
        for key in ("gap_pct", "tail_gap_pct"):
            assert set(r[key]) == {"mean", "ci95_low", "ci95_high", "per_seed"} and len(r[key]["per_seed"]) == 2
            assert r[key]["ci95_low"] <= r[key]["mean"] <= r[key]["ci95_high"]
        for p, g, t in zip(r["per_seed"], r["gap_pct"]["per_seed"], r["tail_gap_pct"]["per_seed"], strict=True):
            assert g == pytest.approx(gap_pct(p["val_loss"], base[p["seed"]]["val_loss"]))
            assert t == pytest.approx(gap_pct(p["train_tail_loss"], base[p["seed"]]["train_tail_loss"]))
            assert t != 0.0  # a real paired difference, not zero by construction
        assert r["gap_within_noise"] == (r["gap_pct"]["ci95_low"] <= 0 <= r["gap_pct"]["ci95_high"])
        assert 0 < r["val_sampling_se_pct"] < 5
    assert rec["val_tokens"] == sum(1 for _ in range(rec["val_sequences"])) * 64


def test_shares_and_what_each_recipe_buys(record):
    runs = {r["recipe"]: r for r in record[0]["runs"]}
    assert runs["bf16"]["low_precision_share"] == {"weights": 0.0, "gemm_flops": 0.0}
    fp8, fp4 = runs["fp8-tensor"]["low_precision_share"], runs["nvfp4"]["low_precision_share"]
    assert 0 < fp4["weights"] < fp8["weights"] < 1 and 0 < fp4["gemm_flops"] < fp8["gemm_flops"] < 1
    pred = {n: runs[n]["predicted"] for n in RECIPES}
    assert pred["bf16"]["speedup_vs_bf16"] == 1.0 and pred["bf16"]["memory_saved_gib"] == 0.0
    assert pred["fp8-tensor"]["speedup_vs_bf16"] > 1 and pred["nvfp4"]["speedup_vs_bf16"] > 1
    assert pred["nvfp4-no-sr"]["costed_as"] == "nvfp4"
    assert "llama-3.1-8b" in record[0]["target"]


def test_ablations_are_paired_against_nvfp4(record):
    abl = record[0]["ablations"]
    assert {(a["recipe"], a["metric"]) for a in abl} == {("nvfp4-no-sr", "gap_pct"), ("nvfp4-no-sr", "tail_gap_pct")}
    runs = {r["recipe"]: r for r in record[0]["runs"]}
    for a in abl:
        expect = [x - y for x, y in zip(runs["nvfp4-no-sr"][a["metric"]]["per_seed"],
                                        runs["nvfp4"][a["metric"]]["per_seed"], strict=True)]
        assert a["diff_pct"]["per_seed"] == pytest.approx(expect)
        assert a["verdict"] in ("worse", "better", "not separated")


def test_interrupted_compare_resumes_to_the_same_record(small, corpus, tmp_path, record):
    recipes = [get_recipe(n) for n in RECIPES]
    with pytest.raises(RunInterrupted, match="seed 0"):
        run_compare(small, recipes, corpus, out_dir=tmp_path, options=OPTIONS, should_stop=lambda s: s == 2)
    assert not (tmp_path / "compare.json").exists()
    resumed = run_compare(small, recipes, corpus, out_dir=tmp_path, options=OPTIONS)
    for a, b in zip(resumed["runs"], record[0]["runs"], strict=True):
        assert a["gap_pct"] == b["gap_pct"] and a["tail_gap_pct"] == b["tail_gap_pct"]
