"""Precision recipes for the cost model: which storage format each tensor role uses.

A recipe maps roles (weights, GEMM activations, KV cache) to a `StorageFormat`. The cost model only
needs each format's bits per element (scales included) and the tensor-core class it computes in;
the bit-exact emulation of the same formats lives in `coscale.numerics`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from coscale.errors import CoscaleError


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageFormat:
    name: str
    element_bits: float
    scale_bits_per_element: float  # block-scale overhead (E8M0 per 32 = 0.25 bit, E4M3 per 16 = 0.5 bit)
    compute_class: str  # tensor-core class a GEMM on this format uses (a key of HardwareSpec.peak_flops)
    description: str

    @property
    def bytes_per_element(self) -> float:
        return (self.element_bits + self.scale_bits_per_element) / 8.0


def _fmt(name: str, bits: float, scale_bits: float, compute: str, description: str) -> StorageFormat:
    return StorageFormat(
        name=name, element_bits=bits, scale_bits_per_element=scale_bits, compute_class=compute,
        description=description,
    )


STORAGE_FORMATS: dict[str, StorageFormat] = {
    f.name: f
    for f in (
        _fmt("fp32", 32, 0, "fp32", "IEEE single"),
        _fmt("bf16", 16, 0, "bf16", "bfloat16"),
        _fmt("fp16", 16, 0, "fp16", "IEEE half"),
        _fmt("fp8", 8, 0, "fp8", "FP8 E4M3 with a per-tensor FP32 scale"),
        _fmt("int8", 8, 0, "int8", "INT8 with per-channel / per-tensor scales"),
        _fmt("int4", 4, 16 / 128, "int4", "INT4 with an FP16 scale per 128-element group"),
        _fmt("mxfp8", 8, 8 / 32, "fp8", "OCP MXFP8 E4M3: E8M0 scale per 32 elements"),
        _fmt("mxfp6", 6, 8 / 32, "fp6", "OCP MXFP6 E2M3: E8M0 scale per 32 elements"),
        _fmt("mxfp4", 4, 8 / 32, "fp4", "OCP MXFP4 E2M1: E8M0 scale per 32 elements"),
        _fmt("nvfp4", 4, 8 / 16, "fp4", "NVFP4 E2M1: E4M3 scale per 16 elements + FP32 tensor scale"),
    )
}


@dataclass(frozen=True, kw_only=True, slots=True)
class PrecisionRecipe:
    """Formats per tensor role for inference. `activations` is the GEMM input format, so together with
    `weights` it decides the tensor-core class; weight-only recipes compute at activation precision."""

    name: str
    weights: StorageFormat
    activations: StorageFormat
    kv_cache: StorageFormat
    description: str

    @property
    def weight_only(self) -> bool:
        return self.weights.bytes_per_element < self.activations.bytes_per_element

    def with_kv_cache(self, kv: StorageFormat) -> PrecisionRecipe:
        return PrecisionRecipe(
            name=self.name, weights=self.weights, activations=self.activations, kv_cache=kv,
            description=self.description,
        )


def _recipe(name: str, weights: str, activations: str, description: str) -> PrecisionRecipe:
    f = STORAGE_FORMATS
    return PrecisionRecipe(
        name=name, weights=f[weights], activations=f[activations], kv_cache=f["bf16"],
        description=description,
    )


PRECISION_RECIPES: dict[str, PrecisionRecipe] = {
    r.name: r
    for r in (
        _recipe("bf16", "bf16", "bf16", "BF16 weights and activations"),
        _recipe("fp16", "fp16", "fp16", "FP16 weights and activations"),
        _recipe("fp8", "fp8", "fp8", "FP8 E4M3 weights and activations (W8A8)"),
        _recipe("int8", "int8", "int8", "INT8 weights and activations (SmoothQuant-style W8A8)"),
        _recipe("mxfp8", "mxfp8", "mxfp8", "MXFP8 weights and activations"),
        _recipe("mxfp4", "mxfp4", "mxfp4", "MXFP4 weights and activations (W4A4)"),
        _recipe("nvfp4", "nvfp4", "nvfp4", "NVFP4 weights and activations (W4A4)"),
        _recipe("fp8-weight-only", "fp8", "bf16", "FP8 weights dequantised to BF16 (W8A16)"),
        _recipe("int8-weight-only", "int8", "bf16", "INT8 weights dequantised to BF16 (W8A16)"),
        _recipe("int4-weight-only", "int4", "bf16", "INT4 group-128 weights, BF16 compute (W4A16, AWQ/GPTQ)"),
        _recipe("mxfp4-weight-only", "mxfp4", "bf16", "MXFP4 weights, BF16 activations (gpt-oss style W4A16)"),
        _recipe("nvfp4-weight-only", "nvfp4", "bf16", "NVFP4 weights, BF16 activations (W4A16)"),
    )
}

KV_CACHE_FORMATS = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4", "nvfp4")


def _unknown(kind: str, name: str, valid: list[str]) -> CoscaleError:
    close = difflib.get_close_matches(name, valid, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return CoscaleError(f"unknown {kind} '{name}'.{hint} Valid: {', '.join(valid)}.")


def get_kv_format(name: str) -> StorageFormat:
    """A KV-cache storage format by name (bf16, fp8, nvfp4, ...)."""
    if name not in KV_CACHE_FORMATS:
        raise _unknown("KV-cache precision", name, list(KV_CACHE_FORMATS))
    return STORAGE_FORMATS[name]


def get_precision(name: str, kv_cache: str | None = None) -> PrecisionRecipe:
    """Recipe by name, optionally overriding the KV-cache format (`--kv-precision`)."""
    if name not in PRECISION_RECIPES:
        raise _unknown("precision", name, list(PRECISION_RECIPES))
    recipe = PRECISION_RECIPES[name]
    if kv_cache is None:
        return recipe
    return recipe.with_kv_cache(get_kv_format(kv_cache))
