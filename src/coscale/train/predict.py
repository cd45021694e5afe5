"""`predict_training`: step time, throughput, MFU/HFU and memory of one layout."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.cost.compute_class import resolve_compute_class
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout
from coscale.train.memory import TrainMemory, training_memory
from coscale.train.step import StepBreakdown, step_breakdown


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingPrediction:
    layout: TrainLayout
    step: StepBreakdown
    memory: TrainMemory
    model_flops_per_step: float
    hardware_flops_per_step: float  # executed by the GPUs (causal attention as run, plus recompute)
    published_hardware_flops_per_step: float  # Narayanan's convention (attention without causal discount)
    executed_model_flops_per_step: float  # the model FLOPs as the kernels run them (no recompute)
    peak_flops: float  # per GPU, of the class MFU is quoted against
    peak_class: str
    capacity_bytes: float

    @property
    def step_time_s(self) -> float:
        return self.step.step_time_s

    @property
    def tokens_per_s_per_gpu(self) -> float:
        return self.layout.tokens_per_step / self.step_time_s / self.layout.gpus

    @property
    def model_tflops_per_gpu(self) -> float:
        return self.model_flops_per_step / self.step_time_s / self.layout.gpus / 1e12

    @property
    def hardware_tflops_per_gpu(self) -> float:
        return self.hardware_flops_per_step / self.step_time_s / self.layout.gpus / 1e12

    @property
    def published_hardware_tflops_per_gpu(self) -> float:
        """'Achieved TFLOP/s' as Narayanan et al. 2021 count it (what their tables publish)."""
        return self.published_hardware_flops_per_step / self.step_time_s / self.layout.gpus / 1e12

    @property
    def mfu(self) -> float:
        return self.model_tflops_per_gpu * 1e12 / self.peak_flops

    @property
    def hfu(self) -> float:
        return self.hardware_tflops_per_gpu * 1e12 / self.peak_flops

    @property
    def fits(self) -> bool:
        return self.memory.total <= self.capacity_bytes

    @property
    def binding(self) -> str:
        """The largest non-compute term of the step, i.e. what a better layout would attack first."""
        d = self.step.as_dict()
        terms = {"recompute": d["recompute"], "host wait": d["host"], "pipeline bubble": d["pipeline_bubble"],
                 "optimizer": d["optimizer"]}
        terms.update({f"{k} comm": v for k, v in d["exposed_comm"].items()})
        name = max(terms, key=terms.__getitem__)
        share = terms[name] / self.step_time_s
        return f"compute ({1 - sum(terms.values()) / self.step_time_s:.0%}); largest overhead {name} ({share:.0%})"


def predict_training(ctx: TrainingContext, layout: TrainLayout) -> TrainingPrediction:
    """Predict one layout; raises `InfeasibleError` when the model cannot be sharded that way
    (the rules of `coscale.feasibility`, shared with inference and the planner)."""
    layout.check_model(ctx.model)
    return predict_feasible(ctx, layout)


def predict_feasible(
    ctx: TrainingContext, layout: TrainLayout, memory: TrainMemory | None = None
) -> TrainingPrediction:
    """`predict_training` for a layout already known to pass the feasibility rules (the planner's
    search applies them as a mask); `memory` may be passed in when the caller has computed it."""
    flops = ctx.sample_flops(layout.seq_len)
    hw = ctx.system.hardware
    cls = resolve_compute_class(hw, ctx.precision.mfu_class).used
    return TrainingPrediction(
        layout=layout, step=step_breakdown(ctx, layout),
        memory=memory or training_memory(ctx.model, layout, ctx.precision, ctx.options,
                               ctx.stage_compositions(layout.pp, layout.vp), ctx.stage_params(layout),
                               ctx.unique_layers()),
        model_flops_per_step=flops.model * layout.global_batch,
        hardware_flops_per_step=flops.executed(layout.recompute) * layout.global_batch,
        published_hardware_flops_per_step=flops.published_hardware(layout.recompute) * layout.global_batch,
        executed_model_flops_per_step=flops.model_executed * layout.global_batch,
        peak_flops=hw.compute.peak(cls), peak_class=cls, capacity_bytes=hw.memory.hbm.capacity_bytes,
    )
