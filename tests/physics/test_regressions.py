"""The wrong answers of issue 14, pinned: each reproducer with the physically required value."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from coscale.errors import CoscaleError, DoesNotFitError
from coscale.models.params import count_params
from coscale.models.registry import load_model
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout
from coscale.train.planner import plan_training
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training

from .configs import hardware
from .invariants import check_training, faster

GIB = 2.0**30


def context(model, hardware_id: str = "h100-sxm", gpus: int = 8) -> TrainingContext:
    return TrainingContext(model=model, system=System(hardware=hardware(hardware_id), num_gpus=gpus),
                           precision=get_training_precision("bf16"))


def test_moe_expert_state_is_divided_by_tp_once() -> None:
    """mixtral-8x7b, 8x B200, TP8 EP1, ZeRO-1: 12 B x 46.7 B / 8 = 65 GiB of optimizer state (was 10.1)."""
    model = load_model("mixtral-8x7b")
    lay = TrainLayout(gpus=8, tp=8, dp=1, global_batch=4, seq_len=1024, recompute="full")
    p = predict_training(context(model, hardware_id="b200"), lay)
    need = 12.0 * count_params(model).total / 8
    assert p.memory.optimizer >= need * (1 - 1e-6)
    assert p.memory.optimizer / GIB == pytest.approx(65.2, abs=0.2)


def test_planner_no_longer_ranks_a_mixtral_layout_that_cannot_fit_on_8_h100() -> None:
    """It ranked TP4/DP2/EP1/ZeRO-3 first at '75.4 GiB'; the states alone are 16+ B x 46.7 B / 8 > 80 GiB."""
    model = load_model("mixtral-8x7b")
    with pytest.raises(DoesNotFitError, match="nothing fits"):
        plan_training(context(model, gpus=8), seq_len=4096, global_batch=8, top=3)
    params = count_params(model).total
    for p in plan_training(context(model, gpus=16), seq_len=4096, global_batch=16, top=3).ranked:
        assert p.memory.optimizer >= 12.0 * params / 16 * (1 - 1e-6)
        assert p.memory.total <= p.capacity_bytes


@pytest.mark.parametrize("what", ["hbm", "flops", "links"])
@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_faster_hardware_never_slows_an_moe_step(what: str, zero: int) -> None:
    """TP and DP overlap were budgeted against the same compute: faster compute un-hid more than it saved."""
    ctx = context(load_model("gpt-oss-20b"), gpus=16)
    lay = TrainLayout(gpus=16, tp=2, dp=8, ep=8, global_batch=64, seq_len=4096, zero=zero)
    slow = predict_training(ctx, lay).step_time_s
    ctx2 = context(load_model("gpt-oss-20b"), gpus=16)
    ctx2.system = System(hardware=faster(ctx.system.hardware, what), num_gpus=16)
    assert predict_training(ctx2, lay).step_time_s <= slow * (1 + 1e-12)


def test_zero3_without_replicas_is_not_larger_than_zero2() -> None:
    """With dp*cp == 1 nothing is sharded, so no gathered-layer buffer is needed."""
    ctx = context(load_model("llama-3.1-8b"), gpus=8)
    mems = [predict_training(ctx, TrainLayout(gpus=8, tp=8, global_batch=8, seq_len=4096, zero=z)).memory.total
            for z in (2, 3)]
    assert mems[1] <= mems[0]


def test_ep_beyond_the_experts_and_sequences_beyond_the_context_are_rejected() -> None:
    model = load_model("mixtral-8x7b")
    for ep in (16, 32):
        with pytest.raises(CoscaleError, match="does not divide the 8 experts"):
            predict_training(context(model, gpus=32), TrainLayout(gpus=32, dp=32, ep=ep, global_batch=32,
                                                                  seq_len=1024))
    with pytest.raises(CoscaleError, match="exceeds the 32768-token context"):
        predict_training(context(model), TrainLayout(gpus=8, dp=8, global_batch=8, seq_len=65536))


def test_chip_without_fp32_or_bf16_has_a_finite_vector_rate() -> None:
    """groq-lpu publishes FP16 and INT8 only: element-wise ops ran at 0 FLOP/s (ZeroDivisionError / inf)."""
    p = predict_training(context(load_model("llama-3.1-8b"), hardware_id="groq-lpu"),
                         TrainLayout(gpus=8, dp=8, global_batch=8, seq_len=1024))
    assert math.isfinite(p.step_time_s) and p.step_time_s > 0 and 0 < p.hfu <= 1
    s = InferenceScenario(model=load_model("mamba2-2.7b"), system=System(hardware=context(
        load_model("mamba2-2.7b"), hardware_id="groq-lpu").system.hardware, num_gpus=64),
        parallel=Parallelism(gpus=64, tp=8, pp=8), precision=get_precision("fp8"),
        request=InferenceRequest(input_len=128, output_len=32), batch=1)
    try:
        r = predict_inference(s)
    except CoscaleError:
        return  # does not fit is an answer; a ZeroDivisionError is not
    assert math.isfinite(r.tpot_s) and r.tpot_s > 0


def test_random_layouts_of_the_issue_hold_every_invariant() -> None:
    ctx = context(load_model("mixtral-8x7b"), hardware_id="b200", gpus=8)
    assert check_training(ctx, TrainLayout(gpus=8, tp=8, global_batch=4, seq_len=1024, recompute="full")) == []


def test_predict_train_that_does_not_fit_exits_3() -> None:
    r = subprocess.run([sys.executable, "-m", "coscale", "predict", "train", "--model", "llama-3.1-405b",
                        "--hardware", "h100-sxm", "--gpus", "8", "--global-batch", "8", "--seq-len", "1024"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 3 and "does NOT fit" in r.stdout and "Traceback" not in r.stderr
