"""The layout grid the planner searches: every valid (TP, CP, PP, VP, DP, EP, micro-batch,
recompute, ZeRO) for a GPU count, filtered by the constraints Megatron-Core enforces.

TP stays inside one scale-up domain and divides the attention heads (KV heads are replicated
when fewer); PP leaves at least one layer per virtual chunk; CP splits the sequence into 2*cp
load-balanced chunks; EP divides the experts and tp*cp*dp; the global batch divides by
dp*micro-batch, and an interleaved schedule needs the micro-batch count to be a multiple of pp.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from coscale.specs.model import AttentionSpec, Mamba2Spec, ModelSpec, MoESpec
from coscale.train.layout import RECOMPUTE_MODES, Recompute, TrainLayout


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchSpace:
    micro_batches: tuple[int, ...] = (1, 2, 4, 8)
    recomputes: tuple[Recompute, ...] = RECOMPUTE_MODES
    zeros: tuple[int, ...] = (0, 1, 2, 3)
    virtual_stages: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    max_cp: int = 32


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _powers_of_two(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def _tp_options(model: ModelSpec, gpus: int, domain: int) -> list[int]:
    heads = [layer.mixer.num_heads for layer in model.layers if isinstance(layer.mixer, AttentionSpec)]
    heads += [layer.mixer.num_heads for layer in model.layers if isinstance(layer.mixer, Mamba2Spec)]
    return [t for t in _powers_of_two(min(domain, gpus)) if gpus % t == 0 and all(h % t == 0 for h in heads)]


def _ep_options(model: ModelSpec, tp: int, cp: int, dp: int) -> list[int]:
    experts = [layer.ffn.num_experts for layer in model.layers if isinstance(layer.ffn, MoESpec)]
    if not experts:
        return [1]
    pool = tp * cp * dp
    return [e for e in _divisors(pool) if (e == 1 or e % tp == 0) and all(n % e == 0 for n in experts)]


def enumerate_layouts(model: ModelSpec, gpus: int, seq_len: int, global_batch: int, domain: int,
                      space: SearchSpace = SearchSpace()) -> Iterator[TrainLayout]:
    layers = model.num_layers
    has_mamba = any(isinstance(layer.mixer, Mamba2Spec) for layer in model.layers)
    for tp in _tp_options(model, gpus, domain):
        for cp in _powers_of_two(space.max_cp):
            if (gpus // tp) % cp or (cp > 1 and (seq_len % (2 * cp) or has_mamba)):
                continue
            rest = gpus // (tp * cp)
            for pp in _divisors(rest):
                if pp > layers:
                    break
                dp = rest // pp
                for vp in space.virtual_stages:
                    chunks = pp * vp
                    if (vp > 1 and pp == 1) or -(-layers // chunks) * (chunks - 1) >= layers:
                        continue
                    for mb in space.micro_batches:
                        if global_batch % (dp * mb):
                            continue
                        m = global_batch // (dp * mb)
                        if vp > 1 and m % pp:
                            continue
                        for ep in _ep_options(model, tp, cp, dp):
                            for rc in space.recomputes:
                                for zero in space.zeros:
                                    yield TrainLayout(gpus=gpus, tp=tp, pp=pp, vp=vp, dp=dp, cp=cp, ep=ep,
                                                      micro_batch=mb, global_batch=global_batch, seq_len=seq_len,
                                                      recompute=rc, zero=zero)
