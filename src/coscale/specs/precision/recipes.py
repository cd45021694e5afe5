"""The recipe registry: one table of names shared by `predict inference`, `predict/plan train` and
the lab, each name meaning the same formats everywhere.

For recipes the lab runs, the cost-model formats are the storage of the same quantizers its
`linears` emulate (a test checks scheme by scheme). Sources: reference/numerics.md sections 1.2
(NVIDIA's NVFP4 recipe), 1.3 (Transformer Engine recipes), 2 (OCP MX) and 5.2 (DeepSeek-V3 FP8).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from coscale.numerics.qlinear_config import OperandQuant, QuantLinearConfig
from coscale.registry import Registry
from coscale.specs.precision.formats import STORAGE_FORMATS
from coscale.specs.precision.recipe import PrecisionRecipe, Use

ALL: tuple[Use, ...] = ("inference", "training", "lab")


def _uniform(fwd: str, bwd: str, *, weight: str | None = None, amax_history: int = 0) -> QuantLinearConfig:
    """Same quantizer on both forward operands (weights may differ) and on the gradient operands."""
    f = OperandQuant(scheme=fwd, amax_history=amax_history)
    w = OperandQuant(scheme=weight or fwd, amax_history=amax_history)
    g = OperandQuant(scheme=bwd, amax_history=amax_history)
    return QuantLinearConfig(
        fprop_input=f, fprop_weight=w, dgrad_grad_output=g, dgrad_weight=w, wgrad_grad_output=g, wgrad_input=f
    )


def nvfp4_recipe(
    *,
    weight_2d: bool = True,
    rht: bool = True,
    stochastic: bool = True,
    bf16_last_blocks: int = 1,
    name: str = "nvfp4",
    uses: tuple[Use, ...] = ("lab",),
) -> PrecisionRecipe:
    """NVIDIA's NVFP4 pretraining recipe (arXiv 2509.25149), each ingredient switchable.

    1x16 NVFP4 activations and gradients, 16x16 (2D) weight blocks so W and W^T quantize alike,
    a 16-point random Hadamard transform on both Wgrad operands only, stochastic rounding on
    gradients only, and the last `bf16_last_blocks` blocks in BF16 (`uses`: the commands it serves;
    a variant is a lab emulation unless registered wider). Stored, the weights keep the
    1x16 E4M3 scale layout the GEMM reads (a 2D tile's scale fills its 16 rows), so inference and
    training cost NVFP4 W4A4 at 4.5 bits per element either way.
    """
    weight = OperandQuant(scheme="nvfp4_2d" if weight_2d else "nvfp4")
    act = OperandQuant(scheme="nvfp4")
    grad_rounding: Literal["nearest_even", "stochastic"] = "stochastic" if stochastic else "nearest_even"
    grad = OperandQuant(scheme="nvfp4", rounding=grad_rounding)
    had = 16 if rht else None
    parts = [p for p, on in (("2D weights", weight_2d), ("RHT on Wgrad", rht), ("SR on grads", stochastic)) if on]
    desc = f"NVFP4 W4A4 ({', '.join(parts) or 'no extras'}; last {bf16_last_blocks} block(s) BF16)"
    if not (weight_2d and rht and stochastic and bf16_last_blocks == 1):
        desc = f"ablation of nvfp4: {desc}"
    linears = QuantLinearConfig(
        fprop_input=act,
        fprop_weight=weight,
        dgrad_grad_output=grad,
        dgrad_weight=weight,
        wgrad_grad_output=replace(grad, hadamard=had),
        wgrad_input=replace(act, hadamard=had),
    )
    fp4 = STORAGE_FORMATS["nvfp4"]
    return PrecisionRecipe(
        name=name, description=desc, uses=uses, weights=fp4, activations=fp4,
        grad_outputs=fp4, weight_copies=2, linears=linears, bf16_last_blocks=bf16_last_blocks,
    )


def _inference(name: str, weights: str, activations: str, description: str) -> PrecisionRecipe:
    f = STORAGE_FORMATS
    return PrecisionRecipe(name=name, description=description, uses=("inference",), weights=f[weights],
                           activations=f[activations])


def _recipes() -> list[PrecisionRecipe]:
    f = STORAGE_FORMATS
    fp8, mx8 = f["fp8"], f["mxfp8"]
    return [
        PrecisionRecipe(name="bf16", description="BF16 weights, activations and gradients (FP32 master + Adam)",
                        uses=ALL, weights=f["bf16"], activations=f["bf16"], linears=QuantLinearConfig()),
        PrecisionRecipe(name="fp16", description="FP16 weights and activations (training: loss scaling)",
                        uses=("inference", "training"), weights=f["fp16"], activations=f["fp16"],
                        grad_outputs=f["fp16"], working_weights=f["fp16"], gradients=f["fp16"]),
        PrecisionRecipe(name="fp8-tensor",
                        description="FP8 per-tensor (current) scaling: E4M3 weights and activations (W8A8), "
                                    "E5M2 gradients; one FP8 weight copy",
                        uses=ALL, weights=fp8, activations=fp8, grad_outputs=f["fp8-e5m2"], weight_copies=1,
                        linears=_uniform("fp8_e4m3_tensor", "fp8_e5m2_tensor")),
        PrecisionRecipe(name="fp8-delayed",
                        description="FP8 delayed scaling (TE default amax history 1024): E4M3 forward, E5M2 gradients",
                        uses=("training", "lab"), weights=fp8, activations=fp8, grad_outputs=f["fp8-e5m2"],
                        weight_copies=1, linears=_uniform("fp8_e4m3_tensor", "fp8_e5m2_tensor", amax_history=1024)),
        PrecisionRecipe(name="fp8-block",
                        description="DeepSeek-V3 FP8: E4M3 1x128 activations and gradients, 128x128 weights, "
                                    "FP32 scales; FP8 weight copy + transpose",
                        uses=ALL, weights=f["fp8-block128x128"], activations=f["fp8-block128"],
                        grad_outputs=f["fp8-block128"], weight_copies=2,
                        linears=_uniform("fp8_block128", "fp8_block128", weight="fp8_block128x128")),
        PrecisionRecipe(name="mxfp8",
                        description="MXFP8 (TE): E4M3 1x32 blocks, E8M0 scales rounded up, E4M3 gradients; "
                                    "row- and column-wise weight copies",
                        uses=ALL, weights=mx8, activations=mx8, grad_outputs=mx8, weight_copies=2,
                        linears=_uniform("mxfp8_e4m3_rceil", "mxfp8_e4m3_rceil")),
        nvfp4_recipe(uses=ALL),
        nvfp4_recipe(weight_2d=False, name="nvfp4-no2d"),
        nvfp4_recipe(rht=False, name="nvfp4-no-rht"),
        nvfp4_recipe(stochastic=False, name="nvfp4-no-sr"),
        nvfp4_recipe(bf16_last_blocks=0, name="nvfp4-all-fp4"),
        _inference("int8", "int8", "int8", "INT8 weights and activations (SmoothQuant-style W8A8)"),
        _inference("mxfp4", "mxfp4", "mxfp4", "MXFP4 weights and activations (W4A4)"),
        _inference("fp8-weight-only", "fp8", "bf16", "FP8 weights dequantised to BF16 (W8A16)"),
        _inference("int8-weight-only", "int8", "bf16", "INT8 weights dequantised to BF16 (W8A16)"),
        _inference("int4-weight-only", "int4", "bf16", "INT4 group-128 weights, BF16 compute (W4A16, AWQ/GPTQ)"),
        _inference("mxfp4-weight-only", "mxfp4", "bf16", "MXFP4 weights, BF16 activations (gpt-oss style W4A16)"),
        _inference("nvfp4-weight-only", "nvfp4", "bf16", "NVFP4 weights, BF16 activations (W4A16)"),
    ]


# names refined since they were first used keep working as aliases
ALIASES = {"fp8": "fp8-tensor"}

PRECISION_RECIPES: Registry[PrecisionRecipe] = Registry("precision", ((r.name, r) for r in _recipes()), ALIASES)
