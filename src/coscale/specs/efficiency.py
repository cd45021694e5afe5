"""Achievable fractions of peak, by operator kind and size, each field with its provenance as data.

A roofline with one fudge factor mispredicts both ends: large GEMMs reach ~70-80 % of peak,
skinny ones lose whole tiles and waves, short attention never fills the pipeline, small
collectives are bandwidth-starved. Each curve below is physically motivated; each constant is a
published measurement, calibrated on one named validation case, or an assumption, and says which
(`FieldSource`). `coscale validate` marks calibration cases so they are not mistaken for
out-of-sample evidence.

The values belong to a chip *family* (`nvidia-hopper`, `amd-cdna3`, ...), loaded from data files by
`coscale.hardware.families`; a family without measurements of its own names the family whose
curves it borrows (`borrows`). Collective latency is a property of the link, not of this model
(`coscale.specs.hardware.Link.latency_s`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

SourceKind = Literal["published", "calibrated", "assumed"]
SOURCE_KINDS: tuple[str, ...] = ("published", "calibrated", "assumed")


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldSource:
    """Where one efficiency constant comes from: a publication, a calibration case, or an assumption."""

    kind: SourceKind
    detail: str  # the citation, the fit, or the reasoning behind the assumption
    cases: tuple[str, ...] = ()  # validation case ids it was calibrated on (kind 'calibrated')

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"source kind {self.kind!r} is not one of {SOURCE_KINDS}")
        if not self.detail.strip():
            raise ValueError("a source needs a detail: the citation, the fit or the reasoning")
        if self.kind == "calibrated" and not self.cases:
            raise ValueError("a calibrated constant names the validation case(s) it was fitted on")

    def __str__(self) -> str:
        cases = f" [{', '.join(self.cases)}]" if self.cases else ""
        return f"{self.kind}: {self.detail}{cases}"


@dataclass(frozen=True, kw_only=True, slots=True)
class GemmFractions:
    """Large-GEMM fraction of the tensor-core peak, per compute class."""

    fp32: float = 0.80
    tf32: float = 0.80
    bf16: float = 0.80
    fp16: float = 0.80
    fp8: float = 0.70
    fp6: float = 0.70
    fp4: float = 0.70
    int8: float = 0.70
    int4: float = 0.70

    def get(self, compute_class: str, default: float) -> float:
        return float(getattr(self, compute_class, default)) if compute_class in _GEMM_CLASSES else default

    def __getitem__(self, compute_class: str) -> float:  # compat: dict-style access of the old model
        if compute_class not in _GEMM_CLASSES:
            raise KeyError(compute_class)
        return float(getattr(self, compute_class))


_GEMM_CLASSES = frozenset(f.name for f in fields(GemmFractions))


@dataclass(frozen=True, kw_only=True, slots=True)
class AttentionFractions:
    """Long-sequence fused-attention fraction of peak; other classes use the BF16 figure."""

    bf16: float = 0.75
    fp16: float = 0.75
    fp8: float = 0.61

    def get(self, compute_class: str) -> float:
        return float(getattr(self, compute_class)) if compute_class in ("bf16", "fp16", "fp8") else self.bf16

    def __getitem__(self, compute_class: str) -> float:  # compat: dict-style access of the old model
        if compute_class not in ("bf16", "fp16", "fp8"):
            raise KeyError(compute_class)
        return float(getattr(self, compute_class))


# compat: the defaults below equal the `nvidia-hopper` family file (a test keeps them equal), so
# `EfficiencyModel()` keeps working for callers that do not yet take `hardware.efficiency`.
@dataclass(frozen=True, kw_only=True, slots=True)
class EfficiencyModel:
    family: str = "nvidia-hopper"
    borrows: str = ""  # family whose curves this one reuses for lack of its own data ('' = own data)
    gemm_peak: GemmFractions = GemmFractions()
    gemm_tile: int = 128  # output tile edge of Hopper/Blackwell GEMM kernels (CUTLASS/cuBLAS 128x128)
    gemm_min_tile_m: int = 16  # narrowest token-dim tile (skinny GEMMs use 64-row tiles or swap A/B)
    split_k_min: int = 256  # smallest reduction slice a split-K kernel gives one SM
    gemm_tile_fixed_s: float = 1.3e-6  # per output tile, not hidden by the K pipeline (fill + epilogue)
    attention_peak: AttentionFractions = AttentionFractions()
    attention_ramp_keys: float = 256.0  # keys/query at which FlashAttention reaches half its peak fraction
    vector_peak: float = 0.5  # CUDA-core ops (scans, elementwise) against the FP32 vector rate
    memory_gemm: float = 0.80  # weight streaming in skinny GEMMs
    memory_stream: float = 0.90  # copies, elementwise, paged attention, state reads
    min_kernel_s: float = 2.5e-6  # floor per kernel: launch + ramp under CUDA graphs
    collective_half_bytes: float = 10 * 2**20  # message size reaching half the link bandwidth
    all_to_all_peak: float = 0.78  # MoE dispatch/combine fraction of link bandwidth
    sources: tuple[tuple[str, FieldSource], ...] = ()  # numeric field path -> its provenance
    notes: tuple[str, ...] = ()

    def source(self, path: str) -> FieldSource | None:
        """Provenance of one numeric field, e.g. 'gemm_peak.fp8' or 'memory_stream'."""
        return next((s for p, s in self.sources if p == path), None)

    def missing_sources(self) -> tuple[str, ...]:
        """Numeric field paths that carry no provenance (a complete family has none)."""
        have = {p for p, _ in self.sources}
        return tuple(p for p in efficiency_paths() if p not in have)


_NESTED = {"gemm_peak": GemmFractions, "attention_peak": AttentionFractions}
_TEXT = ("family", "borrows", "sources", "notes")


def efficiency_paths() -> tuple[str, ...]:
    """Every numeric field of an EfficiencyModel as a dotted path ('gemm_peak.bf16', 'gemm_tile', ...)."""
    out: list[str] = []
    for f in fields(EfficiencyModel):
        if f.name in _TEXT:
            continue
        if f.name in _NESTED:
            out.extend(f"{f.name}.{g.name}" for g in fields(_NESTED[f.name]))
        else:
            out.append(f.name)
    return tuple(out)
