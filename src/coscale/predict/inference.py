"""Inference prediction: time to first token, time per output token, throughput, memory, energy.

Semantics (stated in the CLI output too; the formulas are in `coscale.predict.phases`):
- `batch` is the number of sequences one model instance holds concurrently (continuous batching);
  GPUs beyond one instance run independent replicas.
- TTFT is the prefill of the whole batch of prompts (a batch arriving at once; `ttft_single_s`
  is one prompt on an idle instance); TPOT is one decode step of the batch at the mean decode
  context (input + output/2).
- Throughput is steady-state output tokens/s of the whole system: every sequence costs its share
  of chunked prefill plus `output_len` decode steps shared with the rest of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.inference_memory import InferenceMemory
from coscale.cost.phase import PassCost
from coscale.cost.plan import ExecutionPlan, build_plan
from coscale.cost.step import StepCost
from coscale.errors import DoesNotFitError
from coscale.predict.capacity import largest_fitting_batch, serving_memory
from coscale.predict.layout_check import check_request
from coscale.predict.phases import inference_phases
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe

GiB = 2**30


@dataclass(frozen=True, kw_only=True, slots=True)
class InferenceScenario:
    model: ModelSpec
    system: System
    parallel: Parallelism
    precision: PrecisionRecipe
    request: InferenceRequest
    batch: int | None = None  # None: the largest batch that fits, up to max_batch
    max_batch: int = 256
    efficiency: EfficiencyModel | None = None  # None: the chip family's curves
    # the engine quantizes GEMM inputs in kernels of their own (TensorRT-LLM PyTorch backend, vLLM)
    gemm_input_casts: bool = False
    moe_a2a: str = "nccl"  # who runs the MoE all-to-all: nccl (BF16 rows) or deepep (FP8/FP4 dispatch)

    def plan(self) -> ExecutionPlan:
        return build_plan(self.model, self.system, self.parallel, self.precision, self.efficiency,
                          gemm_input_casts=self.gemm_input_casts, moe_a2a=self.moe_a2a)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class PhaseTiming:
    """One pipeline traversal of a phase: `cost` is the per-GPU op list over all layers."""

    cost: PassCost
    time_s: float  # wall time of the phase step, pipeline included
    pipeline_s: float  # stage-to-stage transfers

    @staticmethod
    def of(step: StepCost, time_s: float) -> PhaseTiming:
        return PhaseTiming(cost=step.cost, time_s=float(time_s), pipeline_s=float(step.pipeline_s))


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class InferencePrediction:
    scenario: InferenceScenario
    batch: int
    ttft_s: float
    ttft_single_s: float  # prefill of one prompt alone (an idle server)
    tpot_s: float
    throughput_tok_s: float
    memory: InferenceMemory
    prefill: PhaseTiming
    decode: PhaseTiming
    energy_j_per_token: float
    notes: tuple[str, ...]


def predict_inference(s: InferenceScenario) -> InferencePrediction:
    plan = s.plan()
    check_request(s.model, s.parallel, s.request)
    batch = _choose_batch(s, plan)
    req = s.request
    ph = inference_phases(plan, batch, req.input_len, req.output_len)
    return InferencePrediction(
        scenario=s, batch=batch, ttft_s=float(ph.ttft_s), ttft_single_s=float(ph.ttft_single_s),
        tpot_s=float(ph.tpot_s), throughput_tok_s=float(ph.throughput_tok_s),
        memory=serving_memory(plan, batch, req.input_len, req.output_len),
        prefill=PhaseTiming.of(ph.prefill, ph.ttft_s), decode=PhaseTiming.of(ph.decode, ph.tpot_s),
        energy_j_per_token=float(ph.energy_j_per_token), notes=plan.notes)


def _choose_batch(s: InferenceScenario, plan: ExecutionPlan) -> int:
    capacity = s.system.hardware.memory.hbm.capacity_bytes
    req = s.request
    one = serving_memory(plan, 1, req.input_len, req.output_len)
    if one.total > capacity:
        raise DoesNotFitError(
            f"{s.model.name} does not fit on {s.system.hardware.name} at any batch: one sequence needs "
            f"{one.total / GiB:.1f} GiB per GPU (weights {one.weights / GiB:.1f} GiB) of {capacity / GiB:.1f} GiB; "
            f"use more parallel.tp/parallel.pp/parallel.ep GPUs or a smaller precision.recipe.")
    if s.batch is not None:
        needed = serving_memory(plan, s.batch, req.input_len, req.output_len).total
        if needed > capacity:
            fits = int(largest_fitting_batch(plan, req.input_len, req.output_len, s.batch))
            raise DoesNotFitError(
                f"request.batch={s.batch} needs {needed / GiB:.1f} GiB per GPU, more than the {capacity / GiB:.1f} "
                f"GiB of {s.system.hardware.name}; the largest batch that fits is {fits} (or use request.batch=auto).")
        return s.batch
    return int(largest_fitting_batch(plan, req.input_len, req.output_len, s.max_batch))
