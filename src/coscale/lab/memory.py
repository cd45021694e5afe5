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

SCALE_BITS = {"none": 0, "absmax_fp32": 32, "e8m0_floor": 8, "e8m0_rceil": 8, "nvfp4": 8}


def scheme_bytes(shape: tuple[int, int], scheme_name: str) -> float:
    """Storage of a (rows, cols) matrix in `scheme_name`: elements plus block (and tensor) scales."""
    scheme = get_scheme(scheme_name)
    rows, cols = shape
    br, bc = scheme.block
    n_blocks = math.ceil(rows / (br or rows)) * math.ceil(cols / (bc or cols)) if scheme.scale != "none" else 0
    tensor_scale = 4 if scheme.scale == "nvfp4" else 0
    return rows * cols * get_format(scheme.element).bits / 8 + n_blocks * SCALE_BITS[scheme.scale] / 8 + tensor_scale


def training_state_bytes(model: nn.Module, recipe: Recipe) -> dict[str, float]:
    """{'weights', 'grads', 'optimizer', 'total'} in bytes for `model` trained under `recipe`."""
    params = sum(p.numel() for p in model.parameters())
    copy = 0.0
    for module in model.modules():
        if not isinstance(module, nn.Linear) and type(module).__name__ != "QuantLinear":
            continue
        shape = tuple(module.weight.shape)
        quantized = type(module).__name__ == "QuantLinear" and recipe.linears.fprop_weight is not None
        copy += scheme_bytes(shape, recipe.linears.fprop_weight.scheme) if quantized else 2 * module.weight.numel()
    weights, grads, optimizer = 4 * params + copy, 4 * params, 8 * params
    return {
        "weights": weights,
        "grads": grads,
        "optimizer": optimizer,
        "total": weights + grads + optimizer,
        "weight_compute_copy": copy,
    }
