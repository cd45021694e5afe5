"""Achievable fractions of peak, by operator kind and size, each with its provenance.

A roofline with one fudge factor mispredicts both ends: large GEMMs reach ~70-80 % of peak,
skinny ones lose whole tiles and waves, short attention never fills the pipeline, small
collectives are latency-bound. Each curve below is physically motivated and its constant is
either a published measurement (cited) or calibrated on one named kernel case; `coscale validate`
marks those cases as calibration points so they are not mistaken for out-of-sample evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True, slots=True)
class EfficiencyModel:
    gemm_peak: dict[str, float] = field(default_factory=lambda: {
        "bf16": 0.80, "fp16": 0.80, "tf32": 0.80, "fp32": 0.80,
        "fp8": 0.70, "int8": 0.70, "fp6": 0.70, "fp4": 0.70, "int4": 0.70,
    })
    gemm_tile: int = 128  # output tile edge of Hopper/Blackwell GEMM kernels (CUTLASS/cuBLAS 128x128)
    gemm_min_tile_m: int = 16  # narrowest token-dim tile (skinny GEMMs use 64-row tiles or swap A/B)
    split_k_min: int = 256  # smallest reduction slice a split-K kernel gives one SM
    attention_peak: dict[str, float] = field(default_factory=lambda: {"bf16": 0.75, "fp16": 0.75, "fp8": 0.61})
    attention_ramp_keys: float = 256.0  # keys/query at which FlashAttention reaches half its peak fraction
    vector_peak: float = 0.5  # CUDA-core ops (scans, elementwise) against the FP32 vector rate
    memory_gemm: float = 0.80  # weight streaming in skinny GEMMs
    memory_stream: float = 0.90  # copies, elementwise, paged attention, state reads
    min_kernel_s: float = 2.5e-6  # floor per kernel: launch + ramp under CUDA graphs
    collective_latency_s: float = 15e-6  # NCCL small-message latency
    collective_half_bytes: float = 10 * 2**20  # message size reaching half the link bandwidth
    all_to_all_peak: float = 0.78  # MoE dispatch/combine fraction of link bandwidth
    provenance: dict[str, str] = field(default_factory=lambda: {
        "gemm_peak.bf16": "calibrated: cuBLAS FP16 8192^3 ~623-627 of 756 TFLOP/s on H100 PCIe (K-CUBLAS) = 0.83",
        "gemm_peak.fp8": "calibrated: DeepGEMM 4096x7168x16384 1358 of 1979 TFLOP/s on H800 (K-DG-1, first shape)",
        "gemm_tile": "tile + wave quantisation: 128x128 output tiles over the SMs (CUTLASS Hopper defaults); "
                     "token-dim tiles shrink to the next power of two >= 16 for skinny GEMMs; split-K "
                     "(slices of >= 256) fills the SMs when there are fewer output tiles than SMs",
        "attention_peak": "FlashAttention-3 abstract: 740 TFLOP/s BF16 (75 %), ~1200 FP8 on H100 (K-FA3)",
        "attention_ramp_keys": "assumption: FA3 paper plots reach ~2/3 of peak at 512 keys",
        "memory_gemm": "calibrated: DeepGEMM M=64/128 rows run at 2.60-2.67 of 3.35 TB/s (K-DG-1)",
        "memory_stream": "calibrated: H100 D2D copy / STREAM triad 3.02-3.09 of 3.35 TB/s (K-HBM)",
        "min_kernel_s": "assumption: ~2-3 us per kernel on Hopper with CUDA graphs",
        "collective": "calibrated: NCCL all_reduce busbw 8 MiB 177, 128 MiB 400, 1 GiB 466 GB/s, 8xH100 (K-NCCL)",
        "all_to_all_peak": "calibrated: DeepEP intranode dispatch 153 of ~200 GB/s per direction on H800 (K-DEP)",
    })

    def gemm_compute(self, compute_class: str, m: int, n: int, k: int, compute_units: int) -> float:
        """Fraction of peak for y[m,n] = x[m,k] W[k,n]: class peak x tile fill x wave fill."""
        tile = self.gemm_tile
        tile_m = min(tile, max(self.gemm_min_tile_m, 1 << max(m - 1, 0).bit_length()))
        tiles_m, tiles_n = math.ceil(m / tile_m), math.ceil(n / tile)
        tile_fill = (m * n) / (tiles_m * tiles_n * tile_m * tile)
        wave_fill = 1.0
        if compute_units:
            tiles = tiles_m * tiles_n
            # too few output tiles to fill the SMs: split-K / stream-K kernels split the reduction
            splits = max(1, min(compute_units // tiles, k // self.split_k_min))
            work = tiles * splits
            wave_fill = work / (math.ceil(work / compute_units) * compute_units)
        return self.gemm_peak.get(compute_class, 0.7) * tile_fill * wave_fill

    def attention_compute(self, compute_class: str, keys_per_query: float) -> float:
        peak = self.attention_peak.get(compute_class, self.attention_peak["bf16"])
        return peak * keys_per_query / (keys_per_query + self.attention_ramp_keys)

    def collective_bandwidth(self, message_bytes: float) -> float:
        return message_bytes / (message_bytes + self.collective_half_bytes)
