"""Model variants for model feedback: one architectural change each, as a new frozen ModelSpec.

Each variant returns (model, what changed) or None when it does not apply to the model (no MoE,
no MLA, not a hybrid, a head count that cannot be halved). `hold_params` then rescales every FFN
width (dense MLP, routed and shared experts) by one factor so total or active parameters match the
original (parameters are affine in that factor: solved from two evaluations, then rounded to a
multiple of FFN_ROUND).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from coscale.models.params import count_params
from coscale.specs.model import AttentionSpec, LayerSpec, Mamba2Spec, MLPSpec, ModelSpec, MoESpec

FFN_ROUND = 64  # FFN widths stay multiples of 64 (assumption: tensor-core tile friendly)
Variant = tuple[ModelSpec, str]


def _map_layers(m: ModelSpec, fn: Callable[[LayerSpec], LayerSpec]) -> ModelSpec:
    return replace(m, layers=tuple(fn(layer) for layer in m.layers))


def _attn(layer: LayerSpec) -> AttentionSpec | None:
    return layer.mixer if isinstance(layer.mixer, AttentionSpec) else None


def kv_heads(m: ModelSpec, factor: float) -> Variant | None:
    heads = {a.num_kv_heads for la in m.layers if (a := _attn(la)) and a.mla is None}
    if not heads or any(int(h * factor) < 1 or h * factor != int(h * factor) for h in heads):
        return None
    if any(int(a.num_kv_heads * factor) > a.num_heads for la in m.layers if (a := _attn(la)) and a.mla is None):
        return None

    def fn(la: LayerSpec) -> LayerSpec:
        a = _attn(la)
        return replace(la, mixer=replace(a, num_kv_heads=int(a.num_kv_heads * factor))) if a and a.mla is None else la
    new = sorted({int(h * factor) for h in heads})
    return _map_layers(m, fn), f"KV heads {sorted(heads)} -> {new} (GQA groups)"


def sliding_window(m: ModelSpec, window: int) -> Variant | None:
    """Every other full-attention layer attends to the last `window` tokens only (gpt-oss / Gemma style
    alternation): the context-length lever, since those layers' cache stops growing past the window."""
    full = [i for i, la in enumerate(m.layers) if (a := _attn(la)) and a.sliding_window is None and a.mla is None]
    pick = set(full[1::2])
    if not pick:
        return None
    layers = tuple(replace(la, mixer=replace(la.mixer, sliding_window=window)) if i in pick else la
                   for i, la in enumerate(m.layers))
    return replace(m, layers=layers), f"{len(pick)} of {len(full)} full-attention layers -> {window}-token window"


def mla_latent(m: ModelSpec, factor: float) -> Variant | None:
    ranks = {a.mla.kv_lora_rank for la in m.layers if (a := _attn(la)) and a.mla}
    if not ranks:
        return None

    def fn(la: LayerSpec) -> LayerSpec:
        a = _attn(la)
        if not (a and a.mla):
            return la
        return replace(la, mixer=replace(a, mla=replace(a.mla, kv_lora_rank=int(a.mla.kv_lora_rank * factor))))
    return _map_layers(m, fn), f"MLA latent {sorted(ranks)} x {factor:g}"


def attention_to_mamba(m: ModelSpec, fraction: float) -> Variant | None:
    """Hybrids only: turn `fraction` of the attention layers into the model's Mamba-2 layer (or the
    reverse for a negative fraction: that share of Mamba layers becomes the model's attention layer)."""
    mamba = next((la.mixer for la in m.layers if isinstance(la.mixer, Mamba2Spec) and la.mixer.version == 2), None)
    attn = next((a for la in m.layers if (a := _attn(la))), None)
    if mamba is None or attn is None:
        return None
    src, dst = (AttentionSpec, mamba) if fraction > 0 else (Mamba2Spec, attn)
    idx = [i for i, la in enumerate(m.layers) if isinstance(la.mixer, src)]
    pick = set(idx[1::2] if abs(fraction) >= 0.5 else idx[1::max(round(1 / abs(fraction)), 2)])
    pick = set(sorted(pick)[:max(1, round(abs(fraction) * len(idx)))]) if pick else set()
    if not pick:
        return None
    layers = tuple(replace(la, mixer=dst) if i in pick else la for i, la in enumerate(m.layers))
    n_att = sum(1 for la in layers if isinstance(la.mixer, AttentionSpec))
    n_mam = sum(1 for la in layers if isinstance(la.mixer, Mamba2Spec))
    src_name, dst_name = ("attention", "Mamba-2") if fraction > 0 else ("Mamba-2", "attention")
    return replace(m, layers=layers), \
        f"{len(pick)} {src_name} layers -> {dst_name} ({n_att} attention : {n_mam} Mamba-2)"


def moe(m: ModelSpec, *, experts: float = 1.0, top_k: int = 0) -> Variant | None:
    specs = {la.ffn for la in m.layers if isinstance(la.ffn, MoESpec)}
    if not specs:
        return None
    if any(s.top_k + top_k < 1 or int(s.num_experts * experts) < s.top_k + top_k for s in specs):
        return None

    def fn(la: LayerSpec) -> LayerSpec:
        f = la.ffn
        if not isinstance(f, MoESpec):
            return la
        return replace(la, ffn=replace(f, num_experts=int(f.num_experts * experts), top_k=f.top_k + top_k))
    s = next(iter(specs))
    return _map_layers(m, fn), f"experts {s.num_experts} -> {int(s.num_experts * experts)}, " \
                               f"top-k {s.top_k} -> {s.top_k + top_k}"


def ffn_width(m: ModelSpec, factor: float) -> ModelSpec:
    def w(x: int) -> int:
        return max(FFN_ROUND, round(x * factor / FFN_ROUND) * FFN_ROUND) if x else 0

    def fn(la: LayerSpec) -> LayerSpec:
        f = la.ffn
        if isinstance(f, MLPSpec):
            return replace(la, ffn=replace(f, intermediate_size=w(f.intermediate_size)))
        if isinstance(f, MoESpec):
            return replace(la, ffn=replace(f, expert_intermediate_size=w(f.expert_intermediate_size),
                                           shared_intermediate_size=w(f.shared_intermediate_size)))
        return la
    return _map_layers(m, fn)


def hidden(m: ModelSpec, factor: float) -> Variant:
    size = round(m.hidden_size * factor / FFN_ROUND) * FFN_ROUND
    return replace(m, hidden_size=size), f"hidden {m.hidden_size} -> {size} (heads unchanged)"


def hold_params(original: ModelSpec, variant: ModelSpec, which: str) -> tuple[ModelSpec, str]:
    """Rescale the variant's FFN widths so its `which` ('total' or 'active') parameters match the original's."""
    def count(m: ModelSpec) -> float:
        c = count_params(m)
        return float(c.total if which == "total" else c.active)
    target, at1, at_half = count(original), count(variant), count(ffn_width(variant, 0.5))
    slope = (at1 - at_half) / 0.5
    if slope <= 0:
        return variant, f"cannot hold {which} parameters (no FFN to rescale)"
    factor = 1.0 + (target - at1) / slope
    if factor <= 0.05:
        return variant, f"cannot hold {which} parameters (the FFN would vanish)"
    held = ffn_width(variant, factor)
    return held, f"FFN widths x {factor:.3f} to hold {which} parameters ({count(held) / target - 1:+.1%} left)"
