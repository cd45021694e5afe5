"""Model feedback: which change to the model buys the most throughput, or the most context per GPU.

Each variant (`variants.py`) replaces every entry's model (or precision recipe) and is predicted on
the base chip with the workload's own batch rule (so a smaller cache can buy a larger batch),
through the same `evaluate`. "Context per GPU" is the most
KV tokens one GPU can cache at the base chip's batch: the longest sequence whose serving memory
(`coscale.predict.capacity.serving_memory`) still fits, times the batch, over the instance's GPUs.
Context length enters as the sliding-window lever (half the full-attention layers windowed) and as the
context-per-GPU ranking. The workload's `[model_levers]` section may set `hold = "total"` or `"active"` (FFN widths
compensate, and each lever says by how much) and `precisions = [...]` to compare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from coscale.errors import CoscaleError
from coscale.explore.feedback import variants as v
from coscale.explore.feedback.evaluate import entry_plan, evaluate, require_feasible
from coscale.explore.feedback.levers import improvement
from coscale.explore.feedback.workload import Workload, WorkloadEntry
from coscale.models.params import count_params
from coscale.specs.hardware import HardwareSpec
from coscale.specs.model import ModelSpec
from coscale.specs.precision import get_precision

HOLDS = ("none", "total", "active")
DEFAULT_PRECISIONS = ("bf16", "fp8", "nvfp4")
SLIDING_WINDOW = 4096  # tokens, the window of the sliding-window lever (assumption; gpt-oss uses 128)
CONTEXT_CAP = 1e9  # tokens: a model whose cache does not grow (pure Mamba) reports this cap
SECTION_KEYS = frozenset({"hold", "precisions"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelLever:
    name: str
    change: str
    gain: float | None  # objective improvement (None: the variant does not fit)
    context_gain: float | None  # improvement of context tokens per GPU
    context_per_gpu: float | None
    params_total: int
    params_active: int
    note: str


def _architecture_variants(m: ModelSpec) -> list[tuple[str, v.Variant | None, bool]]:
    """(name, variant, param-changing) for every structural change that applies to `m`."""
    return [
        ("kv_heads_half", v.kv_heads(m, 0.5), True),
        ("kv_heads_double", v.kv_heads(m, 2.0), True),
        ("mla_latent_half", v.mla_latent(m, 0.5), True),
        ("sliding_window_half_4096", v.sliding_window(m, SLIDING_WINDOW), False),
        ("attention_to_mamba_half", v.attention_to_mamba(m, 0.5), True),
        ("mamba_to_attention", v.attention_to_mamba(m, -0.25), True),
        ("moe_top_k_minus_1", v.moe(m, top_k=-1), True),
        ("moe_top_k_plus_1", v.moe(m, top_k=1), True),
        ("moe_experts_double", v.moe(m, experts=2.0), True),
        ("moe_experts_half", v.moe(m, experts=0.5), True),
        ("ffn_width_0.75x", (v.ffn_width(m, 0.75), "FFN widths x 0.75"), False),
        ("hidden_0.875x", v.hidden(m, 0.875), True),
    ]


def context_per_gpu(hw: HardwareSpec, entry: WorkloadEntry, batch: int) -> float:
    """Most cached tokens per GPU holding `batch` sequences: bisection on the sequence length."""
    plan = entry_plan(hw, entry)
    cap = hw.memory.hbm.capacity_bytes

    def fits(length: float) -> bool:
        return float(plan.memory.memory(batch, length, min(length, entry.input_len)).total) <= cap
    if not fits(2.0):
        return 0.0
    lo, hi = 2.0, CONTEXT_CAP
    if fits(hi):
        return hi * batch / entry.parallel.instance_gpus
    while hi / lo > 1.001:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo * batch / entry.parallel.instance_gpus


def rank_model_levers(hw: HardwareSpec, workload: Workload, entries: Sequence[WorkloadEntry],
                      objective: str) -> list[ModelLever]:
    section = workload.raw.get("model_levers", {})
    section = section if isinstance(section, dict) else {}
    for key in section:
        if key not in SECTION_KEYS:
            raise CoscaleError(f"unknown key '{key}' in [model_levers]; valid keys: hold, precisions.")
    hold = section.get("hold", "none")
    if hold not in HOLDS:
        raise CoscaleError(f"[model_levers] hold must be one of {', '.join(HOLDS)}, got {hold!r}.")
    price = workload.usd_per_gpu_hour
    base = evaluate(hw, entries, objective, price)
    require_feasible(base, hw.name)
    batch = int(base.entries[0].batch)  # the base chip's batch: context is compared at the same concurrency
    base_ctx = context_per_gpu(hw, entries[0], batch)
    model = entries[0].model
    out = []
    for name, variant, changes_params in _architecture_variants(model):
        if variant is None:
            continue
        new, change = variant
        note = ""
        if hold != "none" and changes_params:
            new, note = v.hold_params(model, new, hold)
        out.append(_judge(hw, entries, objective, price, base.value, base_ctx, batch, name, change, note,
                          lambda e, new=new: replace(e, model=new)))
    for p in section.get("precisions", DEFAULT_PRECISIONS):
        if p == entries[0].precision.name:
            continue
        recipe = get_precision(p, entries[0].precision.kv_cache.name)
        out.append(_judge(hw, entries, objective, price, base.value, base_ctx, batch, f"precision_{p}",
                          f"precision {entries[0].precision.name} -> {p}", "",
                          lambda e, r=recipe: replace(e, precision=r)))
    return sorted(out, key=lambda lv: (-(lv.gain if lv.gain is not None else -math.inf), lv.name))


def _judge(hw, entries, objective, price, base_value, base_ctx, batch, name, change, note, edit):
    try:
        changed = [edit(e) for e in entries]
        ev = evaluate(hw, changed, objective, price)
        ctx = context_per_gpu(hw, changed[0], batch)
    except CoscaleError as exc:  # the variant breaks a layout rule (e.g. TP no longer divides the heads)
        ev, ctx, note = None, None, f"{note}; infeasible: {exc}".strip("; ")
    counts = count_params(changed[0].model)
    ok = ev is not None and bool(np.isfinite(ev.value))
    return ModelLever(name=name, change=change, gain=improvement(objective, base_value, ev.value) if ok else None,
                      context_gain=(ctx / base_ctx - 1.0) if ctx and base_ctx else None, context_per_gpu=ctx,
                      params_total=counts.total, params_active=counts.active,
                      note=note if ok else "; ".join(x for x in (note, "does not fit at the workload's batch") if x))
