"""An execution plan: model x system x parallel layout x precision, resolved once and reused.

Everything a step's cost needs that does not depend on the step's shape — the layout check, the
tensor-core classes each format really runs in on this chip, the notes about what was assumed —
is settled here, so the serving simulator and the explorer can cost millions of steps against one
plan without repeating it.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.cost.compute_class import resolve_compute_class
from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.inference_memory import ServingMemoryModel
from coscale.errors import CoscaleError
from coscale.feasibility import raise_if_any
from coscale.feasibility.scalar import layout_violations
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe
from coscale.workload.forward_pass import ForwardPass
from coscale.workload.ops import COLLECTIVE_BACKENDS, DEEPEP_MODES, CollectiveBackend, DeepEPMode
from coscale.workload.shape import StepShape


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class ExecutionPlan:
    model: ModelSpec
    system: System
    parallel: Parallelism
    precision: PrecisionRecipe
    efficiency: EfficiencyModel  # the chip family's curves unless overridden
    gemm_class: str  # tensor-core class the GEMMs run in on this chip
    attention_class: str
    head_class: str  # embedding and LM head (BF16 in quantised checkpoints)
    memory: ServingMemoryModel  # serving memory per GPU as a function of batch and lengths
    notes: tuple[str, ...] = ()
    # the engine casts each low-precision GEMM's BF16 input in a kernel of its own (TensorRT-LLM's
    # PyTorch backend, vLLM); False: the cast is fused into the kernel before it (TensorRT engines)
    gemm_input_casts: bool = False
    moe_a2a: CollectiveBackend = "nccl"  # who runs the MoE all-to-all (ForwardPass.moe_a2a)
    deepep_mode: DeepEPMode = "auto"  # with DeepEP, which kernels (ForwardPass.deepep_mode)

    def forward_pass(self, shape: StepShape) -> ForwardPass:
        """The pass one GPU runs for `shape` (the step of its attention-DP rank)."""
        r, par = self.precision, self.parallel
        return ForwardPass(shape=shape, tp=par.tp, ep=par.ep, attention_dp=par.attention_dp, weights=r.weights,
                           activations=r.activations, kv_cache=r.kv_cache, ssm_state=r.ssm_state,
                           gemm_class=self.gemm_class,
                           attention_class=self.attention_class, head_class=self.head_class,
                           quantize_gemm_inputs=self.gemm_input_casts,
                           moe_a2a=self.moe_a2a, deepep_mode=self.deepep_mode,
                           scaleup_domain=self.system.hardware.links.scaleup.domain_size)


def build_plan(model: ModelSpec, system: System, parallel: Parallelism, precision: PrecisionRecipe,
               efficiency: EfficiencyModel | None = None, gemm_input_casts: bool = False,
               moe_a2a: str = "nccl", deepep_mode: DeepEPMode = "auto") -> ExecutionPlan:
    """Check the layout, resolve compute classes against the chip and collect the notes. The
    efficiency curves default to the chip's family (`hardware.efficiency`); `gemm_input_casts`:
    price the engine's separate activation-quantization kernels (`coscale.workload.quantize`);
    `moe_a2a`: who runs the MoE all-to-all, "nccl" or "deepep" (FP8/FP4 dispatch, DeepEP's bandwidth);
    `deepep_mode`: DeepEP's kernels (`workload.ops.DeepEPMode`; a disaggregated pool fixes them)."""
    if moe_a2a not in COLLECTIVE_BACKENDS:
        raise CoscaleError(f"unknown MoE all-to-all backend {moe_a2a!r}; use --moe-a2a-backend "
                           f"{' or '.join(COLLECTIVE_BACKENDS)}.")
    if deepep_mode not in DEEPEP_MODES:
        raise CoscaleError(f"unknown DeepEP mode {deepep_mode!r}; use {', '.join(DEEPEP_MODES)}.")
    raise_if_any(layout_violations(model, tp=parallel.tp, pp=parallel.pp, ep=parallel.ep, gpus=parallel.gpus))
    hw = system.hardware
    gemm = resolve_compute_class(hw, precision.activations.compute_class)
    return ExecutionPlan(
        model=model, system=system, parallel=parallel, precision=precision,
        efficiency=efficiency if efficiency is not None else hw.efficiency,
        gemm_class=gemm.used, attention_class=_attention_class(system, precision),
        head_class=resolve_compute_class(hw, "bf16").used,
        memory=ServingMemoryModel.of(model, parallel, precision, hw.memory.hbm.capacity_bytes),
        notes=tuple(n for n in (gemm.note,) if n) + tuple(_format_notes(system, precision)),
        gemm_input_casts=gemm_input_casts, moe_a2a=moe_a2a, deepep_mode=deepep_mode)  # type: ignore[arg-type]


def _attention_class(system: System, precision: PrecisionRecipe) -> str:
    """FP8 attention (FA3 / TRT-LLM FP8 FMHA) when both activations and KV cache are 8-bit floats."""
    wants_fp8 = precision.kv_cache.compute_class == "fp8" and precision.activations.compute_class in ("fp8", "fp4")
    return resolve_compute_class(system.hardware, "fp8" if wants_fp8 else "bf16").used


def _format_notes(system: System, r: PrecisionRecipe) -> list[str]:
    hw = system.hardware
    if r.weight_only:
        return [f"weight-only {r.weights.name.upper()}: weights are dequantised to {r.activations.name.upper()} "
                f"inside the GEMM; only weight bytes shrink"]
    fmt = r.activations
    if fmt.name.startswith(("mx", "nv")) and fmt.name not in hw.compute.block_scaled_formats:
        return [f"{hw.name} has no native {fmt.name.upper()} block scaling: block scales are applied in software "
                f"around the GEMMs (no speed-up counted for them)"]
    return []
