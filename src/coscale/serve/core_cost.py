"""The engine's step cost from coscale's core cost model (interim adapter).

Until the core step-cost contract (`coscale.cost.step`, `StepShape`, `StepCostTable`) lands, one
forward pass of a mixed batch is costed by the core's per-GPU pass model: a pure-decode batch as
`n` sequences at their mean cached context; a step holding prefill chunks as one prefill pass of all
its new tokens (decode tokens included) at their token-weighted mean cached prefix. Pipeline stages
add one activation hop per boundary (no micro-batch overlap is modelled). Results are memoised on a
grid of batch shapes (mean contexts rounded to 1/32 octave, prefill tokens to 1/64 octave), so a
decode batch is a dictionary lookup; energy is the core's power model times the instance's GPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from coscale.cost.compute_class import resolve_compute_class
from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.energy import gpu_energy_j
from coscale.cost.phase import pass_cost
from coscale.cost.roofline import collective_time
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe
from coscale.workload.build import forward_ops
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass, Phase
from coscale.workload.ops import Collective

CTX_STEPS_PER_OCTAVE = 32
TOKEN_STEPS_PER_OCTAVE = 64


def _grid(x: float, per_octave: int) -> int:
    """x rounded to a geometric grid (exact below 2 * per_octave)."""
    if x < 2 * per_octave:
        return int(round(x))
    return int(round(2 ** (round(math.log2(x) * per_octave) / per_octave)))


@dataclass(kw_only=True, slots=True)
class CoreStepCost:
    model: ModelSpec
    system: System
    parallel: Parallelism
    precision: PrecisionRecipe
    efficiency: EfficiencyModel = field(default_factory=EfficiencyModel)
    _memo: dict[tuple[str, int, int, int], tuple[float, float]] = field(default_factory=dict)
    _classes: tuple[str, str, str] = ("bf16", "bf16", "bf16")

    def __post_init__(self) -> None:
        hw = self.system.hardware
        r = self.precision
        gemm = resolve_compute_class(hw, r.activations.compute_class).used
        fp8_attn = r.kv_cache.compute_class == "fp8" and r.activations.compute_class in ("fp8", "fp4")
        attn = resolve_compute_class(hw, "fp8" if fp8_attn else "bf16").used
        self._classes = (gemm, attn, resolve_compute_class(hw, "bf16").used)

    def _pass(self, phase: Phase, seqs: int, new: int, ctx: int) -> tuple[float, float]:
        key = (phase, seqs, new, ctx)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        par, r = self.parallel, self.precision
        gemm, attn, head = self._classes
        fp = ForwardPass(phase=phase, seqs=seqs, new_tokens=new, context=ctx, tp=par.tp, ep=par.ep,
                         attention_dp=par.attention_dp, weights=r.weights, activations=r.activations,
                         kv_cache=r.kv_cache, gemm_class=gemm, attention_class=attn, head_class=head)
        cost = pass_cost(forward_ops(self.model, fp), self.system, self.efficiency)
        hop = 0.0
        if par.pp > 1:
            c = Collective(kind="p2p", bytes=fp.tokens * self.model.hidden_size * OUTPUT_BYTES,
                           group=par.instance_gpus)
            hop = collective_time(c, self.system, self.efficiency) * (par.pp - 1)
        t = cost.time_s + hop
        e = gpu_energy_j(self.system.hardware, cost.time_s, cost.compute_s, cost.memory_s) * par.instance_gpus
        self._memo[key] = (t, e)
        return t, e

    def _decode(self, n: int, total_ctx: int) -> tuple[float, float]:
        return self._pass("decode", n, 1, _grid(total_ctx / n, CTX_STEPS_PER_OCTAVE))

    def step(self, decode_contexts: np.ndarray, prefill_new: np.ndarray,
             prefill_prefix: np.ndarray) -> tuple[float, float]:
        n_dec = len(decode_contexts)
        new = int(prefill_new.sum())
        if new == 0:
            return self._decode(n_dec, int(decode_contexts.sum()))
        tokens = new + n_dec
        prefix = (float((prefill_new * prefill_prefix).sum()) + float(decode_contexts.sum())) / tokens
        return self._pass("prefill", 1, _grid(tokens, TOKEN_STEPS_PER_OCTAVE), _grid(prefix, CTX_STEPS_PER_OCTAVE))

    def decode_run(self, decode_contexts: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(decode_contexts)
        s = int(decode_contexts.sum())
        out = [self._decode(n, s + n * j) for j in range(steps)]
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])
