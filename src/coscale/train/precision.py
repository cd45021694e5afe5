"""Training precision recipes: GEMM format, the extra weight copies, and the optimizer state bytes.

Every recipe keeps FP32 master weights and FP32 Adam moments (12 bytes/param, the ZeRO paper's
"K = 12") and BF16 working weights + BF16 gradients (2 + 2), i.e. 16 bytes per parameter before
sharding (Rajbhandari et al. 2020, Sec. 3.1). Megatron accumulates gradients in an FP32 buffer
(`main_grad`), which makes it 18 bytes (Korthikanti et al. 2022 use this figure). Low-precision
recipes add a quantised copy of the weights for the GEMMs (Transformer Engine keeps an FP8 or NVFP4
copy, plus a transposed copy for MXFP8/NVFP4 since block scales run along one axis only).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from coscale.errors import CoscaleError


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingPrecision:
    name: str
    gemm_class: str  # tensor-core class of forward, dgrad and wgrad GEMMs
    attention_class: str  # FlashAttention stays BF16 in all published FP8/FP4 recipes
    mfu_class: str  # peak the published MFU is quoted against (NVIDIA FP8 MFU uses the FP8 peak)
    low_precision_weight_bytes: float  # extra quantised weight copies per parameter (scales included)
    description: str

    # bytes per parameter of the state every recipe shares
    working_weight_bytes: float = 2.0  # BF16 weights the non-GEMM ops (and recipes' casts) read
    master_weight_bytes: float = 4.0
    adam_state_bytes: float = 8.0  # FP32 first and second moments
    grad_bytes: float = 2.0  # BF16 gradient
    fp32_grad_accum_bytes: float = 2.0  # extra when gradients accumulate in FP32 (Megatron main_grad)


def _recipes() -> dict[str, TrainingPrecision]:
    rows = (
        TrainingPrecision(name="bf16", gemm_class="bf16", attention_class="bf16", mfu_class="bf16",
                          low_precision_weight_bytes=0.0, description="BF16 mixed precision (FP32 master + Adam)"),
        TrainingPrecision(name="fp16", gemm_class="fp16", attention_class="fp16", mfu_class="fp16",
                          low_precision_weight_bytes=0.0, description="FP16 mixed precision with loss scaling"),
        TrainingPrecision(name="fp8", gemm_class="fp8", attention_class="bf16", mfu_class="fp8",
                          low_precision_weight_bytes=1.0,
                          description="FP8 per-tensor scaling (Transformer Engine delayed/current scaling): "
                                      "E4M3 fprop, E5M2 gradients; one FP8 weight copy"),
        TrainingPrecision(name="fp8-block", gemm_class="fp8", attention_class="bf16", mfu_class="fp8",
                          low_precision_weight_bytes=2.0 * (1.0 + 4.0 / 128**2),
                          description="FP8 with 128x128 weight blocks (DeepSeek-V3 recipe); FP8 copy + transpose"),
        TrainingPrecision(name="mxfp8", gemm_class="fp8", attention_class="bf16", mfu_class="fp8",
                          low_precision_weight_bytes=2.0 * (1.0 + 1.0 / 32),
                          description="MXFP8 (E8M0 scale per 32): row- and column-wise weight copies"),
        TrainingPrecision(name="nvfp4", gemm_class="fp4", attention_class="bf16", mfu_class="fp4",
                          low_precision_weight_bytes=2.0 * (0.5 + 1.0 / 16),
                          description="NVFP4 (E4M3 scale per 16) fprop/dgrad/wgrad: row- and column-wise copies"),
    )
    return {r.name: r for r in rows}


def get_training_precision(name: str) -> TrainingPrecision:
    recipes = _recipes()
    if name not in recipes:
        close = difflib.get_close_matches(name, list(recipes), n=2)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise CoscaleError(f"unknown training precision '{name}'.{hint} Valid: {', '.join(recipes)}.")
    return recipes[name]
