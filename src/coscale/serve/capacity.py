"""KV pool size in blocks, computed the way each engine computes it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from coscale.cost.inference_memory import RUNTIME_FIXED_BYTES, ServingMemoryModel, kv_share_per_gpu
from coscale.errors import CoscaleError, DoesNotFitError
from coscale.models.cache import kv_cache_bytes_per_sequence
from coscale.serve.presets import EnginePreset
from coscale.specs.execution import Parallelism
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe

GiB = 2**30


@dataclass(frozen=True, kw_only=True, slots=True)
class KvBudget:
    blocks: int
    block_bytes: float  # per GPU
    weights_bytes: float
    activation_bytes: float
    kv_bytes: float
    fraction: float

    def as_dict(self) -> dict[str, float]:
        return {"blocks": self.blocks, "block_bytes": self.block_bytes, "weights_gib": self.weights_bytes / GiB,
                "activations_gib": self.activation_bytes / GiB, "kv_gib": self.kv_bytes / GiB,
                "memory_fraction": self.fraction}


def block_bytes_per_gpu(model: ModelSpec, par: Parallelism, recipe: PrecisionRecipe, block_size: int) -> float:
    """KV bytes one block of `block_size` tokens takes on the fullest pipeline stage's GPU."""
    size = math.ceil(model.num_layers / par.pp)
    from dataclasses import replace
    stages = [replace(model, layers=model.layers[i:i + size]) for i in range(0, model.num_layers, size)]
    per_stage = max(kv_cache_bytes_per_sequence(s, block_size, recipe.kv_cache.bytes_per_element) for s in stages)
    return per_stage * kv_share_per_gpu(model, par.tp)


def kv_blocks(model: ModelSpec, par: Parallelism, recipe: PrecisionRecipe, capacity_bytes: float,
              preset: EnginePreset, block_size: int, max_batched_tokens: int, max_num_seqs: int,
              fraction: float | None = None) -> KvBudget:
    frac = preset.memory_fraction(par.tp) if fraction is None else fraction
    if not 0 < frac <= 1:
        raise CoscaleError(f"--gpu-memory-utilization must be in (0, 1], got {frac}.")
    mm = ServingMemoryModel.of(model, par, recipe, capacity_bytes)
    weights = mm.weights
    # the engine's profiling pass: a full token budget through one layer, logits for every sequence
    acts = max_batched_tokens * mm.act_per_token + min(max_num_seqs, max_batched_tokens) * mm.logits_per_seq
    # Mamba layers keep a constant state per running sequence, reserved for the batch limit
    ssm = max_num_seqs * mm.ssm_per_seq
    if preset.memory_rule == "vllm":
        kv = frac * capacity_bytes - weights - acts - RUNTIME_FIXED_BYTES - ssm
    elif preset.memory_rule == "sglang":
        kv = frac * capacity_bytes - weights - ssm
    else:
        kv = frac * (capacity_bytes - weights - acts - RUNTIME_FIXED_BYTES) - ssm
    bb = block_bytes_per_gpu(model, par, recipe, block_size)
    if bb <= 0:
        raise CoscaleError(f"{model.name} has no attention KV cache; give --num-gpu-blocks for its pool.")
    blocks = int(kv // bb) if kv > 0 else 0
    if blocks < 1:  # a valid request whose answer is "does not fit": exit 3 (README, Exit codes)
        state = (f", per-sequence state {ssm / GiB:.1f} GiB ({max_num_seqs:,} x {mm.ssm_per_seq / 2**20:.2f} MiB: "
                 f"give a smaller --max-num-seqs)" if ssm > 0.1 * frac * capacity_bytes else "")
        raise DoesNotFitError(
            f"{model.name} leaves no KV memory on {capacity_bytes / GiB:.0f} GiB GPUs: weights {weights / GiB:.1f} GiB "
            f"and activations {acts / GiB:.1f} GiB per GPU{state} of a {frac:.2f} budget; use more --tp/--pp GPUs or "
            f"a smaller --precision.")
    return KvBudget(blocks=blocks, block_bytes=bb, weights_bytes=weights, activation_bytes=acts, kv_bytes=kv,
                    fraction=frac)
