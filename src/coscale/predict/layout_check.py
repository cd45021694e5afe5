"""Reject parallel layouts the model cannot be sharded with, naming the fix."""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.specs.execution import Parallelism
from coscale.specs.model import AttentionSpec, Mamba2Spec, ModelSpec, MoESpec


def _divisors_up_to(n: int, limit: int = 64) -> str:
    return ", ".join(str(d) for d in range(1, min(n, limit) + 1) if n % d == 0)


def check_layout(model: ModelSpec, par: Parallelism) -> None:
    for layer in model.layers:
        mixer, ffn = layer.mixer, layer.ffn
        if isinstance(mixer, AttentionSpec) and mixer.num_heads % par.tp:
            raise CoscaleError(
                f"--tp {par.tp} does not divide the {mixer.num_heads} attention heads of {model.name}; "
                f"use one of: {_divisors_up_to(mixer.num_heads)}.")
        if isinstance(mixer, AttentionSpec) and not mixer.mla and mixer.num_kv_heads % par.tp \
                and par.tp % mixer.num_kv_heads:
            raise CoscaleError(
                f"--tp {par.tp} and the {mixer.num_kv_heads} KV heads of {model.name} neither divide the other; "
                f"use a divisor or multiple of {mixer.num_kv_heads}.")
        if isinstance(mixer, Mamba2Spec) and mixer.version == 2 and mixer.num_heads % par.tp:
            raise CoscaleError(
                f"--tp {par.tp} does not divide the {mixer.num_heads} Mamba heads of {model.name}; "
                f"use one of: {_divisors_up_to(mixer.num_heads)}.")
        if isinstance(ffn, MoESpec) and ffn.num_experts % par.ep:
            raise CoscaleError(
                f"--ep {par.ep} does not divide the {ffn.num_experts} experts of {model.name}; "
                f"use one of: {_divisors_up_to(ffn.num_experts, 512)}.")
    if par.ep > 1 and not any(isinstance(layer.ffn, MoESpec) for layer in model.layers):
        raise CoscaleError(f"--ep {par.ep} needs a mixture-of-experts model; {model.name} is dense. Use --ep 1.")
    if par.pp > model.num_layers:
        raise CoscaleError(f"--pp {par.pp} exceeds the {model.num_layers} layers of {model.name}.")
