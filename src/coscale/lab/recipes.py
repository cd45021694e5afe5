"""Precision recipes as data: which number format each GEMM operand role of a linear layer uses.

A recipe names, for the six operands of a linear layer's three GEMMs (Fprop: input x weight,
Dgrad: grad_output x weight, Wgrad: grad_output x input), a quantizer (scheme, rounding, Hadamard
size, amax history), and which blocks stay in high precision. One code path (`apply.py`) applies
any recipe; an ablation is just another value. In every recipe the master weights, the weight
gradient accumulation and the AdamW state are FP32; embeddings, the LM head, norms, softmax
attention BMMs, the SSD scan and the MoE router are never quantized; linear layers that a recipe
keeps in high precision run with BF16 operands (see `layers.Bf16Linear`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

from coscale.errors import CoscaleError
from coscale.numerics import OperandQuant, QuantLinearConfig


@dataclass(frozen=True, kw_only=True, slots=True)
class Recipe:
    name: str
    description: str
    linears: QuantLinearConfig = field(default_factory=QuantLinearConfig)  # six GEMM operands; all None = BF16
    bf16_first_blocks: int = 0  # blocks at the start of the network kept in BF16
    bf16_last_blocks: int = 0  # blocks at the end kept in BF16 (NVFP4 keeps ~15% of linears, mostly last)

    @property
    def quantized(self) -> bool:
        return any(getattr(self.linears, f.name) is not None for f in fields(self.linears))

    def block_is_high_precision(self, index: int, n_blocks: int) -> bool:
        return index < self.bf16_first_blocks or index >= n_blocks - self.bf16_last_blocks


def _uniform(name: str, desc: str, fwd: str, bwd: str, *, amax_history: int = 0, weight: str | None = None) -> Recipe:
    f = OperandQuant(scheme=fwd, amax_history=amax_history)
    w = OperandQuant(scheme=weight or fwd, amax_history=amax_history)
    g = OperandQuant(scheme=bwd, amax_history=amax_history)
    linears = QuantLinearConfig(
        fprop_input=f, fprop_weight=w, dgrad_grad_output=g, dgrad_weight=w, wgrad_grad_output=g, wgrad_input=f
    )
    return Recipe(name=name, description=desc, linears=linears)


def nvfp4_recipe(
    *, weight_2d: bool = True, rht: bool = True, stochastic: bool = True, bf16_last_blocks: int = 1, name: str = "nvfp4"
) -> Recipe:
    """NVIDIA's NVFP4 pretraining recipe (arXiv 2509.25149), each ingredient switchable.

    1x16 NVFP4 activations and gradients, 16x16 (2D) weight blocks so W and W^T quantize alike,
    a 16-point random Hadamard transform on both Wgrad operands only, stochastic rounding on
    gradients only, and the last `bf16_last_blocks` blocks in BF16.
    """
    weight = OperandQuant(scheme="nvfp4_2d" if weight_2d else "nvfp4")
    act = OperandQuant(scheme="nvfp4")
    grad_rounding: Literal["nearest_even", "stochastic"] = "stochastic" if stochastic else "nearest_even"
    grad = OperandQuant(scheme="nvfp4", rounding=grad_rounding)
    had = 16 if rht else None
    parts = [p for p, on in (("2D weights", weight_2d), ("RHT on Wgrad", rht), ("SR on grads", stochastic)) if on]
    desc = f"NVFP4 ({', '.join(parts) or 'no extras'}; last {bf16_last_blocks} block(s) BF16)"
    return Recipe(
        name=name,
        description=desc,
        linears=QuantLinearConfig(
            fprop_input=act,
            fprop_weight=weight,
            dgrad_grad_output=grad,
            dgrad_weight=weight,
            wgrad_grad_output=replace(grad, hadamard=had),
            wgrad_input=replace(act, hadamard=had),
        ),
        bf16_last_blocks=bf16_last_blocks,
    )


def _registry() -> dict[str, Recipe]:
    recipes = [
        Recipe(name="bf16", description="BF16 operands on every linear, FP32 accumulation (baseline)"),
        _uniform(
            "fp8-tensor",
            "FP8 per-tensor current scaling: E4M3 forward, E5M2 gradients",
            "fp8_e4m3_tensor",
            "fp8_e5m2_tensor",
        ),
        _uniform(
            "fp8-delayed",
            "FP8 delayed scaling (TE style, amax history 16): E4M3 fwd, E5M2 grads",
            "fp8_e4m3_tensor",
            "fp8_e5m2_tensor",
            amax_history=16,
        ),
        _uniform(
            "fp8-block",
            "DeepSeek-V3 FP8: E4M3 1x128 activations/grads, 128x128 weights, FP32 scales",
            "fp8_block128",
            "fp8_block128",
            weight="fp8_block128x128",
        ),
        _uniform(
            "mxfp8",
            "MXFP8 (TE): E4M3 1x32 blocks, E8M0 scales rounded up (RCEIL), E4M3 grads",
            "mxfp8_e4m3_rceil",
            "mxfp8_e4m3_rceil",
        ),
        nvfp4_recipe(),
        nvfp4_recipe(weight_2d=False, name="nvfp4-no2d"),
        nvfp4_recipe(rht=False, name="nvfp4-no-rht"),
        nvfp4_recipe(stochastic=False, name="nvfp4-no-sr"),
        nvfp4_recipe(bf16_last_blocks=0, name="nvfp4-all-fp4"),
    ]
    return {r.name: r for r in recipes}


def list_recipes() -> list[str]:
    return list(_registry())


def get_recipe(name: str) -> Recipe:
    registry = _registry()
    if name not in registry:
        raise CoscaleError(f"unknown recipe {name!r}; choose one of {', '.join(registry)}")
    return registry[name]
