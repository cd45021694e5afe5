"""Device memory per GPU when serving: weights, KV cache / SSM state, activations, runtime reserve."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from coscale.models.cache import cross_kv_bytes_per_sequence, kv_elements_per_token, ssm_state_bytes_per_sequence
from coscale.models.params import attention_params, count_params, ffn_params, mamba_params, mlp_params
from coscale.specs.execution import Parallelism
from coscale.specs.model import AttentionSpec, LayerSpec, Mamba2Spec, ModelSpec, MoESpec
from coscale.specs.precision import PrecisionRecipe
from coscale.workload.ffn import up_width
from coscale.workload.forward_pass import EMBEDDING_BYTES
from coscale.workload.shape import Array

RUNTIME_FIXED_BYTES = 1.5 * 2**30  # CUDA context, cuBLAS/NCCL workspaces (assumption, typical nvidia-smi idle)
RUNTIME_FRACTION = 0.05  # allocator fragmentation / headroom kept free (vLLM gpu_memory_utilization 0.9-0.95)
RUNTIME_MAX_FRACTION = 0.10  # the reserve never exceeds this share (SRAM machines have no CUDA context)
PREFILL_CHUNK_TOKENS = 8192  # tokens per prefill chunk (vLLM / TRT-LLM max_num_tokens default)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class InferenceMemory:
    """Bytes per GPU by use; numbers, or arrays over a sweep."""

    weights: float
    kv_cache: Array
    ssm_state: Array
    activations: Array
    runtime_reserve: float

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.ssm_state + self.activations + self.runtime_reserve

    def as_dict(self) -> dict[str, float]:
        return {"weights": self.weights, "kv_cache": self.kv_cache, "ssm_state": self.ssm_state,
                "activations": self.activations, "runtime_reserve": self.runtime_reserve, "total": self.total}


def weight_bytes_per_gpu(model: ModelSpec, par: Parallelism, recipe: PrecisionRecipe) -> float:
    """Weights on the most loaded GPU: layers split over PP stages (the largest stage), dense parts
    split over TP, routed experts over EP (or TP when ep == 1), embeddings vocab-parallel."""
    stages = [sum(_layer_weight_bytes(model.hidden_size, layer, par, recipe) for layer in stage.layers)
              for stage in _stages(model, par.pp)]
    counts = count_params(model)
    stages[0] += (counts.embedding + counts.positions) / par.tp * EMBEDDING_BYTES
    stages[-1] += (counts.lm_head or counts.embedding * (par.pp > 1)) / par.tp * EMBEDDING_BYTES
    if model.encoder is not None:  # an encoder-decoder model's encoder lives with its first stage
        stages[0] += weight_bytes_per_gpu(model.encoder, replace(par, pp=1), recipe)
    return max(stages)


def _layer_weight_bytes(h: int, layer: LayerSpec, par: Parallelism, recipe: PrecisionRecipe) -> float:
    dense = 0.0
    experts = 0.0
    if isinstance(layer.mixer, AttentionSpec):
        dense += attention_params(h, layer.mixer)
    elif isinstance(layer.mixer, Mamba2Spec):
        dense += mamba_params(h, layer.mixer)
    if layer.ffn is not None:
        dense += ffn_params(h, layer.ffn)[0]
    if isinstance(layer.ffn, MoESpec):
        moe = layer.ffn
        routed = moe.num_experts * mlp_params(h, moe.expert_intermediate_size, moe.activation, moe.expert_bias)
        dense -= routed
        experts = routed / (par.ep if par.ep > 1 else par.tp)
    return (dense / par.tp + experts) * recipe.weights.bytes_per_element


def _widest_ffn(model: ModelSpec) -> int:
    """Widest up-projection output of any FFN block (live activation of the FFN)."""
    widths = [0]
    for layer in model.layers:
        if isinstance(layer.ffn, MoESpec):
            widths.append(up_width(layer.ffn.expert_intermediate_size, layer.ffn.activation))
        elif layer.ffn is not None:
            widths.append(up_width(layer.ffn.intermediate_size, layer.ffn.activation))
    return max(widths)


def _stages(model: ModelSpec, pp: int) -> list[ModelSpec]:
    """The model's layers split into pipeline stages of ceil(L / pp) layers."""
    size = math.ceil(model.num_layers / pp)
    return [replace(model, layers=model.layers[i:i + size]) for i in range(0, model.num_layers, size)]


def kv_share_per_gpu(model: ModelSpec, tp: int) -> float:
    """Fraction of a sequence's KV cache one TP rank holds: KV heads split over TP, replicated when
    there are fewer KV heads than ranks; MLA latents are replicated on every rank."""
    attn = [layer.mixer for layer in model.layers if isinstance(layer.mixer, AttentionSpec)]
    if not attn:
        return 1.0
    a = attn[0]
    if a.mla:
        return 1.0
    return max(a.num_kv_heads // tp, 1) / a.num_kv_heads


@dataclass(frozen=True, kw_only=True, slots=True)
class ServingMemoryModel:
    """The shape-independent parts of serving memory for one model, layout and recipe, computed once;
    `memory(batch, context, input)` then costs a few array operations (it backs the bisection of
    `--batch auto` over a whole sweep)."""

    weights: float  # bytes on the most loaded GPU
    kv_stages: tuple[tuple[float, tuple[tuple[int, float], ...]], ...]  # per stage: (full-attention
    # bytes per token, ((window, bytes per token) ...)) on this GPU
    ssm_per_seq: float  # Mamba state per sequence on this GPU (fullest stage)
    act_per_token: float  # live activation bytes per prefill token in one layer
    logits_per_seq: float  # FP32 logits of one position
    attention_dp: int
    reserve: float

    @staticmethod
    def of(model: ModelSpec, par: Parallelism, recipe: PrecisionRecipe, capacity_bytes: float) -> ServingMemoryModel:
        share = kv_share_per_gpu(model, par.tp) * recipe.kv_cache.bytes_per_element
        stages = []
        for stage in _stages(model, par.pp):  # the fullest stage sets the per-GPU cache (hybrids are uneven)
            full, windows = 0.0, {}
            for layer in stage.layers:
                if isinstance(layer.mixer, AttentionSpec) and layer.mixer.memory_tokens is None:
                    elems = kv_elements_per_token(layer.mixer) * share
                    if layer.mixer.sliding_window is None:
                        full += elems
                    else:
                        windows[layer.mixer.sliding_window] = windows.get(layer.mixer.sliding_window, 0.0) + elems
            stages.append((full, tuple(sorted(windows.items()))))
        state_bpe = recipe.ssm_state.bytes_per_element
        # constant state per sequence: Mamba conv + SSM state, and cross-attention memory K/V (Whisper)
        ssm = max(ssm_state_bytes_per_sequence(stage, state_bpe)
                  + cross_kv_bytes_per_sequence(stage, recipe.kv_cache.bytes_per_element)
                  for stage in _stages(model, par.pp)) / par.tp
        # live activations in one layer: residual + norm output + attention/FFN intermediates (BF16),
        # plus FP32 logits for one position per sequence
        return ServingMemoryModel(
            weights=weight_bytes_per_gpu(model, par, recipe), kv_stages=tuple(stages), ssm_per_seq=ssm,
            act_per_token=(4 * model.hidden_size + _widest_ffn(model) / par.tp) * 2,
            logits_per_seq=model.vocab_size / par.tp * 4, attention_dp=par.attention_dp,
            reserve=min(RUNTIME_FIXED_BYTES + RUNTIME_FRACTION * capacity_bytes, RUNTIME_MAX_FRACTION * capacity_bytes))

    def kv_bytes_per_sequence(self, context_len: Array) -> Array:
        """KV cache of one sequence of `context_len` tokens on this GPU (sliding layers capped)."""
        ctx = np.asarray(context_len, dtype=np.float64)
        per_stage = [full * ctx + sum((b * np.minimum(ctx, w) for w, b in windows), np.float64(0.0))
                     for full, windows in self.kv_stages]
        return np.max(per_stage, axis=0)

    def memory(self, batch: Array, context_len: Array, input_len: Array) -> InferenceMemory:
        """Memory on one GPU for `batch` concurrent sequences of up to `context_len` tokens (numbers,
        or numpy arrays over a sweep: every field is then an array)."""
        seqs = np.ceil(np.asarray(batch) / self.attention_dp)  # sequences whose cache lives on this GPU's group
        chunk = np.minimum(seqs * input_len, PREFILL_CHUNK_TOKENS)
        return InferenceMemory(weights=self.weights, kv_cache=seqs * self.kv_bytes_per_sequence(context_len),
                               ssm_state=seqs * self.ssm_per_seq,
                               activations=chunk * self.act_per_token + seqs * self.logits_per_seq,
                               runtime_reserve=self.reserve)
