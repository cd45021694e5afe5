"""Training precision: the shared `PrecisionRecipe`, looked up among the recipes training means.

The planner reads the recipe's derived training facts: the GEMM, attention and MFU tensor-core
classes, and bytes per parameter of the model state. Every recipe keeps FP32 master weights and
FP32 Adam moments (12 bytes/param, the ZeRO paper's "K = 12") and 16-bit working weights + 16-bit
gradients (2 + 2), i.e. 16 bytes per parameter before sharding (Rajbhandari et al. 2020, Sec. 3.1).
Megatron accumulates gradients in an FP32 buffer (`main_grad`), which makes it 18 bytes
(Korthikanti et al. 2022 use this figure). Low-precision recipes add the quantised weight copies
the GEMMs read, at their storage bytes with scales (Transformer Engine keeps an FP8 copy, plus a
transposed copy for FP8-block, MXFP8 and NVFP4).
"""

from __future__ import annotations

from coscale.specs.precision import PrecisionRecipe, recipe_for

TrainingPrecision = PrecisionRecipe  # one precision type; the name stays for the planner's signatures


def get_training_precision(name: str) -> PrecisionRecipe:
    """A recipe by name (bf16, fp16, fp8 = fp8-tensor, fp8-delayed, fp8-block, mxfp8, nvfp4)."""
    return recipe_for(name, "training")
