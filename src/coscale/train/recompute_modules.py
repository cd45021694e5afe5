"""Megatron-Core's selective recompute of named modules (`--recompute-modules`).

With `recompute_granularity: selective`, Megatron-Core checkpoints the modules named in
`recompute_modules` (megatron/core/transformer/transformer_config.py): their inputs are kept, their
outputs dropped, and their forward runs again during the backward. Which of the project's forward
operators each name re-runs:

- ``core_attn``: the attention kernel (the project's `recompute: selective`);
- ``layernorm``: the input and pre-MLP norms (the fused norm + residual operator);
- ``moe_act``: the activation of the routed experts;
- ``mla_up_proj``: the MLA query and key/value up-projections;
- ``mlp``: the dense MLP (projections and activation).
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.workload.ops import Op

RECOMPUTE_MODULES: dict[str, tuple[str, ...]] = {
    "core_attn": ("attn.core",),
    "layernorm": ("norm_residual",),
    "moe_act": ("moe.experts_up.activation",),
    "mla_up_proj": ("mla.q_b_proj", "mla.kv_b_proj"),
    "mlp": ("mlp.up_proj", "mlp.up_proj.activation", "mlp.down_proj"),
}


def check_modules(modules: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The module names as a tuple; an unknown name raises CoscaleError naming the known ones."""
    names = tuple(modules)
    for name in names:
        if name not in RECOMPUTE_MODULES:
            raise CoscaleError(f"train.recompute_modules: unknown module '{name}'; use any of "
                               f"{', '.join(RECOMPUTE_MODULES)}.")
    return names


def recomputed_ops(ops: list[Op], modules: tuple[str, ...]) -> list[Op]:
    """The forward operators of `ops` (quantize casts of a recomputed GEMM included) that the named
    modules run again in the backward."""
    names = {n for m in modules for n in RECOMPUTE_MODULES[m]}
    return [op for op in ops if op.name in names or op.name.removesuffix(".cast") in names]
