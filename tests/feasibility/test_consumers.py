"""`predict inference`, `predict train` and `plan train` accept and reject layouts by the same rules."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from coscale.errors import CoscaleError
from coscale.feasibility import InfeasibleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.layout_check import check_layout
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training
from coscale.train.search import SearchSpace, enumerate_layouts


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coscale", *args], capture_output=True, text=True, timeout=120)


def test_predict_train_rejects_tp3_on_llama_like_inference() -> None:
    train = _cli("predict", "train", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "3", "--tp", "3",
                 "--global-batch", "48", "--seq-len", "4096", "--json")
    infer = _cli("predict", "inference", "--model", "llama-3.1-8b", "--tp", "3", "--json")
    assert train.returncode == infer.returncode == 2 and not train.stdout and not infer.stdout
    expected = "--tp 3 does not divide the 32 attention heads of Llama-3.1-8B; use one of: 1, 2, 4, 8, 16, 32."
    assert " ".join(train.stderr.split()) == " ".join(infer.stderr.split()) == f"error: {expected}"


def test_cp_on_a_mamba_hybrid_is_rejected_by_predict_train_and_never_planned() -> None:
    r = _cli("predict", "train", "--model", "nemotron-h-8b", "--hardware", "h100-sxm", "--gpus", "8", "--cp", "2",
             "--global-batch", "64", "--seq-len", "4096")
    assert r.returncode == 2 and "--cp 2" in r.stderr and "Mamba" in r.stderr
    plan = _cli("plan", "train", "--model", "nemotron-h-8b", "--hardware", "h100-sxm", "--gpus", "8",
                "--seq-len", "4096", "--global-batch", "64", "--top", "50", "--json")
    assert plan.returncode == 0, plan.stderr
    assert all(p["layout"]["cp"] == 1 for p in json.loads(plan.stdout)["ranked"])


@pytest.mark.parametrize("name", ["llama-3.1-8b", "qwen3-30b-a3b", "nemotron-h-8b", "jamba-1.5-mini"])
def test_search_proposes_exactly_what_predict_train_accepts(name: str) -> None:
    """Over the search space's grid, a layout is enumerated iff predict train accepts it."""
    model, gpus, seq, batch, domain = load_model(name), 16, 4096, 64, 8
    space = SearchSpace(recomputes=("selective",), zeros=(1,), micro_batches=(1, 2), virtual_stages=(1, 2, 3))
    planned = set(enumerate_layouts(model, gpus, seq, batch, domain, space))
    ctx = TrainingContext(model=model, system=System(hardware=load_hardware("h100-sxm"), num_gpus=gpus),
                          precision=get_training_precision("bf16"))
    degrees = [1, 2, 3, 4, 8, 16]
    accepted = set()
    for tp, cp, pp, vp, mb, ep in itertools.product(degrees, degrees, degrees, [1, 2, 3], [1, 2], degrees):
        if tp > domain or gpus % (tp * cp * pp) or tp & (tp - 1):
            continue  # outside the search space (TP a power of two inside one domain)
        try:
            lay = TrainLayout(gpus=gpus, tp=tp, cp=cp, pp=pp, vp=vp, dp=gpus // (tp * cp * pp), ep=ep, micro_batch=mb,
                              global_batch=batch, seq_len=seq)
            lay.check_model(model)
        except CoscaleError:
            continue
        accepted.add(lay)
    assert planned == accepted and planned
    predict_training(ctx, next(iter(planned)))


@pytest.mark.parametrize(("model", "tp"), [("llama-3.1-8b", 3), ("llama-3.1-8b", 12), ("nemotron-h-8b", 3)])
def test_inference_and_training_reject_the_same_tp(model: str, tp: int) -> None:
    spec = load_model(model)
    with pytest.raises(InfeasibleError) as infer:
        check_layout(spec, Parallelism(gpus=tp, tp=tp))
    with pytest.raises(InfeasibleError) as train:
        TrainLayout(gpus=tp, tp=tp, global_batch=8, seq_len=4096).check_model(spec)
    assert infer.value.violations[0] == train.value.violations[0]


def test_planner_names_the_rules_that_emptied_the_grid() -> None:
    from coscale.train.planner import plan_training

    ctx = TrainingContext(model=load_model("nemotron-h-8b"), system=System(hardware=load_hardware("h100-sxm"),
                                                                           num_gpus=256),
                          precision=get_training_precision("bf16"))
    with pytest.raises(CoscaleError, match=r"global batch not divisible by dp\*micro-batch \(\d+\)"):
        plan_training(ctx, 4096, 1)
