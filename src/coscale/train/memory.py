"""Device memory per GPU in training: model states (ZeRO/FSDP-sharded) plus stored activations.

Model states per parameter: BF16 working weights (+ the recipe's low-precision copies), gradients
(BF16, or FP32 `main_grad` in Megatron) and 12 bytes of FP32 master weights and Adam moments
(Rajbhandari et al. 2020). ZeRO-1 shards the 12 bytes, ZeRO-2 the gradients too, ZeRO-3/FSDP the
weights as well (keeping two gathered layers for prefetch). Dense weights are replicated over
dp*cp ranks, routed experts over tp*cp*dp/ep ranks, so each shards over its own replica count.
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


@dataclass(frozen=True, kw_only=True, slots=True)
class StageParams:
    dense: float  # parameters replicated over dp*cp, sharded over tp already
    experts: float  # routed-expert parameters on this GPU (sharded over ep, or tp when ep == 1)

    @property
    def total(self) -> float:
        return self.dense + self.experts


def stage_params(model: ModelSpec, layout: TrainLayout) -> list[StageParams]:
    """Per-GPU parameters of every stage; embeddings on the first, the (tied copy of the) head on the last."""
    counts = count_params(model)
    out = []
    stages = stage_layers(model.num_layers, layout.pp, layout.vp)
    for i, idx in enumerate(stages):
        dense = experts = 0.0
        for j in idx:
            layer = model.layers[j]
            routed = _routed_expert_params(model, layer)
            dense += (layer_params(model, layer)[0] - routed) / layout.tp
            experts += routed / (layout.ep if layout.ep > 1 else layout.tp)
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


def activation_bytes(model: ModelSpec, layout: TrainLayout, options: TrainOptions) -> tuple[float, float]:
    """(layer activations, head activations) on the most loaded stage."""
    shape = act_shape(model, layout, options)
    per_layer = [layer_activation_bytes(layer, shape, layout.recompute) for layer in model.layers]
    stages = stage_layers(model.num_layers, layout.pp, layout.vp)
    worst = max(sum(per_layer[j] for j in idx) for idx in stages)
    layers = worst * inflight_microbatches(layout)
    if layout.recompute == "full":  # one layer is rematerialised in full during its backward
        layers += max(layer_activation_bytes(layer, shape, "none") for layer in model.layers)
    head = head_activation_bytes(model.vocab_size, shape)
    return layers, head


def training_memory(model: ModelSpec, layout: TrainLayout, precision: TrainingPrecision,
                    options: TrainOptions) -> TrainMemory:
    """Memory on the most loaded GPU (the stage with the largest states + activations)."""
    dp_dense = layout.dp * layout.cp
    dp_expert = layout.expert_dp
    p = precision
    grad_bpp = p.grad_bytes + (p.fp32_grad_accum_bytes if options.fp32_grad_accum else 0.0)
    weight_bpp = p.working_weight_bytes + p.low_precision_weight_bytes
    opt_bpp = p.master_weight_bytes + p.adam_state_bytes
    layers_act, head_act = activation_bytes(model, layout, options)
    best: TrainMemory | None = None
    params = stage_params(model, layout)
    for i, sp in enumerate(params):
        def shard(level: int, sp: StageParams = sp) -> float:
            return sp.dense / dp_dense + sp.experts / dp_expert if layout.zero >= level else sp.total
        weights = shard(3) * weight_bpp
        if layout.zero >= 3:  # two gathered layers (current + prefetch)
            weights += 2.0 * sp.total / max(len(stage_layers(model.num_layers, layout.pp, layout.vp)[i]), 1) * weight_bpp
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
