"""Apply a precision recipe to a lab model: one code path for every recipe.

Every `nn.Linear` inside the blocks is replaced, by module path, either with a `Bf16Linear` (a
high-precision block, or a recipe that quantizes nothing) or with `coscale.numerics.QuantLinear`
configured from the recipe's role map. The FP32 master weight is carried over unchanged, so the
same initial model can be trained under every recipe from an identical starting point.
"""

from __future__ import annotations

from torch import nn

from coscale.lab.fp8_real import RealBf16Linear, RealFp8Linear, real_fp8_supported
from coscale.lab.layers import Bf16Linear
from coscale.lab.model import LabLM
from coscale.lab.recipes import Recipe
from coscale.numerics import QuantLinear


def _bf16_copy(linear: nn.Linear, real: bool) -> Bf16Linear:
    cls = RealBf16Linear if real else Bf16Linear
    new = cls(linear.in_features, linear.out_features, bias=linear.bias is not None)
    new.load_state_dict(linear.state_dict())
    return new.to(linear.weight.device)


def _set_module(root: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, module)


def apply_recipe(model: LabLM, recipe: Recipe, *, seed: int = 0, backend: str = "emulated") -> dict[str, str]:
    """Swap the linears of `model` in place; returns {module path: 'bf16' | 'quant'} for the record.

    backend 'real' (a device with FP8 tensor cores, see `fp8_real.resolve_backend`) runs BF16 linears
    as real bfloat16 GEMMs and per-tensor FP8 recipes as real FP8 GEMMs; other formats stay emulated."""
    config = recipe.linears if recipe.quantized else None
    real = backend == "real"
    quant_cls = RealFp8Linear if real and real_fp8_supported(config) else QuantLinear
    n_blocks = len(model.blocks)
    plan: dict[str, str] = {}
    for index, block in enumerate(model.blocks):
        high = config is None or recipe.block_is_high_precision(index, n_blocks)
        linears = [(name, m) for name, m in block.named_modules() if type(m) is nn.Linear]
        for offset, (name, linear) in enumerate(linears):
            path = f"blocks.{index}.{name}"
            if high:
                _set_module(model, path, _bf16_copy(linear, real))
                plan[path] = "bf16"
            else:
                # A distinct, reproducible stream per layer for stochastic rounding / Hadamard signs.
                layer_seed = seed * 100_003 + index * 1_009 + offset
                _set_module(model, path, quant_cls.from_linear(linear, config, seed=layer_seed))
                plan[path] = "quant"
    return plan


