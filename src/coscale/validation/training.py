"""Predictors for the published training cases (`kind: "train"` and `kind: "train_memory"`).

A case names a preset or carries the paper's architecture as an inline HF config (the GPT models of
the Megatron papers), the hardware, the layout and the implementation options of the run (sequence
parallelism, FlashAttention, dropout, overlap), and which figure to compare.
"""

from __future__ import annotations

from typing import Any

from coscale.cost.efficiency import EfficiencyModel
from coscale.hardware.catalog import load_hardware
from coscale.models.loader import parse_config
from coscale.models.registry import load_model
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.memory import activation_bytes, stage_params, state_bytes_per_param
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training

GIB = 2.0**30


def model_of(check: dict[str, Any]) -> ModelSpec:
    if "model_config" in check:
        return parse_config(check["model_config"], name=check.get("model", "published model"), where="validation case")
    return load_model(check["model"])


def _setup(check: dict[str, Any], eff: EfficiencyModel) -> tuple[TrainingContext, TrainLayout]:
    model = model_of(check)
    layout = TrainLayout(
        gpus=check["gpus"], tp=check.get("tp", 1), pp=check.get("pp", 1), vp=check.get("vp", 1),
        dp=check.get("dp", 1), cp=check.get("cp", 1), ep=check.get("ep", 1),
        micro_batch=check.get("micro_batch", 1), global_batch=check["global_batch"], seq_len=check["seq_len"],
        recompute=check.get("recompute", "selective"), zero=check.get("zero", 1),
    )
    ctx = TrainingContext(
        model=model, system=System(hardware=load_hardware(check["hardware"]), num_gpus=layout.gpus),
        precision=get_training_precision(check.get("precision", "bf16")),
        options=TrainOptions(**check.get("options", {})), efficiency=eff,
    )
    return ctx, layout


def predict_train_case(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """step_time_s, model_tflops_per_gpu, hardware_tflops_per_gpu, mfu or tokens_per_s_per_gpu."""
    ctx, layout = _setup(check, eff)
    p = predict_training(ctx, layout)
    if check["metric"] == "hardware_tflops_per_gpu":  # published in Narayanan's counting convention
        return p.published_hardware_tflops_per_gpu
    return float(getattr(p, check["metric"]))


def predict_train_memory_case(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Per-GPU GiB of `states` (weights + grads + optimizer of a transformer-only stage, the figure's
    12*L*h^2 accounting) or `activations` (layers x micro-batches in flight on the first stage)."""
    ctx, layout = _setup(check, eff)
    if check["metric"] == "activations_gib":
        return activation_bytes(ctx.model, layout, ctx.options)[0] / GIB
    params = stage_params(ctx.model, layout)
    inner = params[len(params) // 2] if len(params) > 2 else params[0]  # a stage without embeddings
    return inner.total * state_bytes_per_param(ctx.precision, ctx.options.fp32_grad_accum) / GIB
