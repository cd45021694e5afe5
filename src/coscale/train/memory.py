"""Device memory per GPU in training: model states (ZeRO/FSDP-sharded) plus stored activations.

Model states per parameter: BF16 working weights (+ the recipe's low-precision copies), gradients
(BF16, or FP32 `main_grad` in Megatron) and 12 bytes of FP32 master weights and Adam moments
(Rajbhandari et al. 2020). ZeRO-1 shards the 12 bytes, ZeRO-2 the gradients too, ZeRO-3/FSDP the
weights as well (keeping two gathered layers for prefetch: the shares other ranks hold, so with
one replica nothing is gathered and a one-layer stage never exceeds its unsharded weights).
Dense weights are replicated over dp*cp ranks, routed experts over tp*cp*dp/ep ranks (cp*dp when
ep == 1 and they are TP-sharded), so each shards over its own replica count.
Activations: the most loaded stage's layers x the micro-batches in flight on the first stage
(1F1B: min(pp, m); interleaved: x (1 + (pp-1)/(pp*vp)), Narayanan et al. 2021 Sec. 2.2.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coscale.models.params import count_params, layer_params, mlp_params
from coscale.specs.model import LayerSpec, ModelSpec, MoESpec
from coscale.train.activations import ActShape, head_activation_bytes, layer_activation_bytes
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.precision import TrainingPrecision

RUNTIME_RESERVE_BYTES = 3.0 * 2**30  # CUDA context, NCCL/cuBLAS workspaces, allocator slack (assumption)


def state_bytes_per_param(precision: TrainingPrecision, fp32_grad_accum: bool) -> float:
    """Unsharded bytes per parameter: 2 + 2 + 12 = 16 (ZeRO paper), 18 with FP32 grad accumulation."""
    p = precision
    grads = p.grad_bytes + (p.fp32_grad_accum_bytes if fp32_grad_accum else 0.0)
    return p.working_weight_bytes + p.low_precision_weight_bytes + grads + p.master_weight_bytes + p.adam_state_bytes


def _routed_expert_params(model: ModelSpec, layer: LayerSpec) -> float:
    f = layer.ffn
    if not isinstance(f, MoESpec):
        return 0.0
    return f.num_experts * mlp_params(model.hidden_size, f.expert_intermediate_size, f.activation, f.expert_bias)


def stage_layers(num_layers: int, pp: int, vp: int) -> list[list[int]]:
    """Layer indices per pipeline stage: pp*vp chunks, chunk c on stage c % pp (Megatron interleave)."""
    chunks = pp * vp
    size = math.ceil(num_layers / chunks)
    stages: list[list[int]] = [[] for _ in range(pp)]
    for c in range(chunks):
        stages[c % pp].extend(range(c * size, min((c + 1) * size, num_layers)))
    return stages


Composition = tuple[tuple[int, int], ...]  # (index into unique_layers, how many) on one stage


def unique_layers(model: ModelSpec) -> tuple[LayerSpec, ...]:
    """Distinct layer specs in first-seen order (hashing a spec is slow: do it once per model)."""
    return tuple(dict.fromkeys(model.layers))


def stage_compositions(model: ModelSpec, pp: int, vp: int) -> tuple[Composition, ...]:
    """Each stage's layers as counts of unique layers, so per-stage sums cost O(unique layers);
    equal compositions are the same object, so identical stages are recognised cheaply."""
    index = {layer: i for i, layer in enumerate(unique_layers(model))}
    codes = [index[layer] for layer in model.layers]
    interned: dict[Composition, Composition] = {}
    out = []
    for idx in stage_layers(model.num_layers, pp, vp):
        counts: dict[int, int] = {}
        for j in idx:
            counts[codes[j]] = counts.get(codes[j], 0) + 1
        comp = tuple(sorted(counts.items()))
        out.append(interned.setdefault(comp, comp))
    return tuple(out)


@dataclass(frozen=True, kw_only=True, slots=True)
class StageParams:
    dense: float  # parameters replicated over dp*cp, sharded over tp already
    experts: float  # routed-expert parameters on this GPU (sharded over ep, or tp when ep == 1)

    @property
    def total(self) -> float:
        return self.dense + self.experts


def stage_params(model: ModelSpec, layout: TrainLayout,
                 comps: tuple[Composition, ...] | None = None) -> list[StageParams]:
    """Per-GPU parameters of every stage; embeddings on the first, the (tied copy of the) head on the last."""
    counts = count_params(model)
    out = []
    stages = comps or stage_compositions(model, layout.pp, layout.vp)
    unique = unique_layers(model)
    for i, comp in enumerate(stages):
        dense = experts = 0.0
        for code, n in comp:
            layer = unique[code]
            routed = _routed_expert_params(model, layer)
            dense += n * (layer_params(model, layer)[0] - routed) / layout.tp
            experts += n * routed / (layout.ep if layout.ep > 1 else layout.tp)
        if i == 0:
            dense += (counts.embedding + counts.positions) / layout.tp
        if i == len(stages) - 1:
            dense += (counts.lm_head or (counts.embedding if layout.pp > 1 else 0)) / layout.tp + counts.final_norm
        out.append(StageParams(dense=dense, experts=experts))
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainMemory:
    weights: float
    gradients: float
    optimizer: float
    activations: float  # transformer/Mamba layers x micro-batches in flight
    head_activations: float  # logits / embedding output on the first or last stage
    reserve: float

    @property
    def states(self) -> float:
        return self.weights + self.gradients + self.optimizer

    @property
    def total(self) -> float:
        return self.states + self.activations + self.head_activations + self.reserve

    def as_dict(self) -> dict[str, float]:
        return {"weights": self.weights, "gradients": self.gradients, "optimizer": self.optimizer,
                "activations": self.activations, "head_activations": self.head_activations,
                "runtime_reserve": self.reserve, "total": self.total}


def inflight_microbatches(layout: TrainLayout) -> float:
    """Micro-batches whose activations the first stage holds at the 1F1B steady-state peak."""
    if layout.pp == 1:
        return 1.0
    base = float(min(layout.pp, layout.num_microbatches))
    if layout.vp > 1:
        base *= 1.0 + (layout.pp - 1) / (layout.pp * layout.vp)
    return base


def act_shape(model: ModelSpec, layout: TrainLayout, options: TrainOptions) -> ActShape:
    return ActShape(s=layout.seq_len // layout.cp, b=layout.micro_batch, h=model.hidden_size, tp=layout.tp,
                    ep=layout.ep, sequence_parallel=options.sequence_parallel and layout.tp > 1,
                    flash_attention=options.flash_attention, dropout=options.dropout)


def activation_bytes(model: ModelSpec, layout: TrainLayout, options: TrainOptions,
                     comps: tuple[Composition, ...] | None = None,
                     unique: tuple[LayerSpec, ...] | None = None) -> tuple[float, float]:
    """(layer activations, head activations) on the most loaded stage."""
    shape = act_shape(model, layout, options)
    stages = comps or stage_compositions(model, layout.pp, layout.vp)
    unique = unique or unique_layers(model)
    per_layer = [layer_activation_bytes(layer, shape, layout.recompute) for layer in unique]
    worst = max(sum(n * per_layer[code] for code, n in comp) for comp in set(stages))
    layers = worst * inflight_microbatches(layout)
    if layout.recompute == "full":  # one layer is rematerialised in full during its backward
        layers += max(layer_activation_bytes(layer, shape, "none") for layer in unique)
    head = head_activation_bytes(model.vocab_size, shape)
    return layers, head


def training_memory(model: ModelSpec, layout: TrainLayout, precision: TrainingPrecision,
                    options: TrainOptions, comps: tuple[Composition, ...] | None = None,
                    params: list[StageParams] | None = None,
                    unique: tuple[LayerSpec, ...] | None = None) -> TrainMemory:
    """Memory on the most loaded GPU (the stage with the largest states + activations)."""
    dp_dense = layout.dp * layout.cp
    dp_expert = layout.expert_dp
    p = precision
    grad_bpp = p.grad_bytes + (p.fp32_grad_accum_bytes if options.fp32_grad_accum else 0.0)
    # FP8 parameters (TrainOptions.fp8_param_gather): the low-precision copies are the parameters
    weight_bpp = (0.0 if options.fp8_param_gather and p.low_precision_gemms else p.working_weight_bytes) \
        + p.low_precision_weight_bytes
    opt_bpp = p.master_weight_bytes + p.adam_state_bytes
    comps = comps or stage_compositions(model, layout.pp, layout.vp)
    layers_act, head_act = activation_bytes(model, layout, options, comps, unique)
    best: TrainMemory | None = None
    params = params or stage_params(model, layout, comps)
    seen: set[tuple[object, bool]] = set()
    for i, sp in enumerate(params):
        tag = (comps[i], i == len(params) - 1)
        if tag in seen:  # an identical stage further down the pipe holds fewer micro-batches
            continue
        seen.add(tag)

        def shard(level: int, sp: StageParams = sp) -> float:
            return sp.dense / dp_dense + sp.experts / dp_expert if layout.zero >= level else sp.total
        weights = shard(3) * weight_bpp
        if layout.zero >= 3:  # two gathered layers (current + prefetch): the parts held by other ranks
            held = min(2.0 / max(sum(n for _, n in comps[i]), 1), 1.0)
            weights += held * (sp.dense * (1.0 - 1.0 / dp_dense) + sp.experts * (1.0 - 1.0 / dp_expert)) * weight_bpp
        mem = TrainMemory(weights=weights, gradients=shard(2) * grad_bpp, optimizer=shard(1) * opt_bpp,
                          activations=layers_act if i == 0 else layers_act * _stage_inflight_ratio(layout, i),
                          head_activations=head_act if i == len(params) - 1 else 0.0,
                          reserve=RUNTIME_RESERVE_BYTES)
        if best is None or mem.total > best.total:
            best = mem
    assert best is not None
    return best


def _stage_inflight_ratio(layout: TrainLayout, stage: int) -> float:
    """Later 1F1B stages hold fewer micro-batches: stage i keeps pp - i of the first stage's pp."""
    return max(layout.pp - stage, 1) / layout.pp
