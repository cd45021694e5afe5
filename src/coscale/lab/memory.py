"""Bytes of training state per recipe: weights, gradients and optimizer state.

Every recipe keeps FP32 master weights, FP32 gradients and two FP32 AdamW moments (4 + 4 + 8 bytes
per parameter). What a recipe changes is the *compute copy* of each linear weight that the GEMMs
read: 2 bytes per element in BF16, or the scheme's element bits plus its scales (e.g. NVFP4:
4 bits + one E4M3 scale per 16 elements + one FP32 tensor scale). "weights" reports master + copy.
"""

from __future__ import annotations

import math

from torch import nn

from coscale.lab.recipes import Recipe
from coscale.numerics.formats import get_format
from coscale.numerics.schemes import get_scheme


def scheme_bytes(shape: tuple[int, int], scheme_name: str) -> float:
    """Storage of a (rows, cols) matrix in `scheme_name`: elements plus stored block (and tensor) scales."""
    scheme = get_scheme(scheme_name)
    rows, cols = shape
    br, bc = scheme.stored_block or scheme.block
    n_blocks = math.ceil(rows / (br or rows)) * math.ceil(cols / (bc or cols)) if scheme.scale_format else 0
    scale_bits = get_format(scheme.scale_format).bits if scheme.scale_format else 0
    tensor_bits = get_format(scheme.tensor_scale_format).bits if scheme.tensor_scale_format else 0
    return (rows * cols * scheme.element_bits + n_blocks * scale_bits + tensor_bits) / 8


def training_state_bytes(model: nn.Module, recipe: Recipe) -> dict[str, float]:
    """{'weights', 'grads', 'optimizer', 'total'} in bytes for `model` trained under `recipe`."""
    params = sum(p.numel() for p in model.parameters())
    copy = 0.0
    for module in model.modules():
        if not isinstance(module, nn.Linear) and type(module).__name__ != "QuantLinear":
            continue
        shape = tuple(module.weight.shape)
        weight_quant = recipe.linears.fprop_weight if recipe.linears is not None else None
        if type(module).__name__ == "QuantLinear" and weight_quant is not None:
            copy += scheme_bytes(shape, weight_quant.scheme)
        else:
            copy += recipe.working_weights.bytes_per_element * module.weight.numel()
    # the lab's parameters are the FP32 master weights; gradients accumulate in FP32
    weights = recipe.master_weight_bytes * params + copy
    grads = recipe.grad_accumulation.bytes_per_element * params
    optimizer = recipe.adam_state_bytes * params
    return {
        "weights": weights,
        "grads": grads,
        "optimizer": optimizer,
        "total": weights + grads + optimizer,
        "weight_compute_copy": copy,
    }
