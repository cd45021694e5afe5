"""The efficiency curves of `EfficiencyModel`, evaluated on scalars or numpy arrays alike.

One formula per curve: the scalar prediction, the array sweep and the step-cost table all call
these, so a fast path can never drift from the slow one.
"""

from __future__ import annotations

import numpy as np

from coscale.cost.efficiency import EfficiencyModel
from coscale.workload.shape import Array


def _next_pow2(m: Array) -> Array:
    """Smallest power of two >= m (1 for m <= 1); exact for the integers that GEMM rows are."""
    return np.exp2(np.ceil(np.log2(np.maximum(m, 1.0))))


def gemm_efficiency(eff: EfficiencyModel, compute_class: str, m: Array, n: Array, k: Array,
                    compute_units: Array, unit_rate: float = 0.0) -> Array:
    """Fraction of peak for y[m,n] = x[m,k] W[k,n]: class peak x tile fill x wave fill x K fill.

    Tiles are `gemm_tile` square; the token-dim tile shrinks to the next power of two >= the
    narrowest tile for skinny GEMMs. With fewer output tiles than compute units, split-K (slices
    of at least `split_k_min`) spreads the reduction over the idle units. `compute_units` 0 means
    unknown: no wave model.

    K fill: every work item (an output tile, or one split-K slice of it) pays `gemm_tile_fixed_s`
    that its K pipeline does not hide (filling the pipeline from HBM, draining the accumulator in
    the epilogue), against a main loop of 2 tile^2 k_slice / (unit_rate x class peak) seconds on
    one compute unit. The fixed time is a family constant in seconds, so it weighs most where one
    unit is fastest and K is short (small-expert MoE); Blackwell's is ~6x shorter than Hopper's
    (its accumulators live in tensor memory, drained while the next tile runs: nvidia-blackwell).
    `unit_rate` is one compute unit's peak FLOP/s in this class; 0 (unknown) leaves it out."""
    tile = float(eff.gemm_tile)
    peak = eff.gemm_peak.get(compute_class, 0.7)
    tile_m = np.minimum(tile, np.maximum(float(eff.gemm_min_tile_m), _next_pow2(m)))
    tiles_m, tiles_n = np.maximum(np.ceil(m / tile_m), 1.0), np.ceil(n / tile)  # m = 0: an empty step
    tile_fill = (m * n) / (tiles_m * tiles_n * tile_m * tile)
    units = np.asarray(compute_units, dtype=np.float64)
    tiles = tiles_m * tiles_n
    splits = np.maximum(1.0, np.minimum(np.floor(units / tiles), np.floor(k / eff.split_k_min)))
    work = tiles * splits
    safe_units = np.maximum(units, 1.0)
    wave_fill = np.where(units > 0, work / (np.ceil(work / safe_units) * safe_units), 1.0)
    k_slice = np.maximum(np.asarray(k, dtype=np.float64) / splits, 1.0)
    k_half = eff.gemm_tile_fixed_s * unit_rate * peak / (2.0 * tile * tile)  # K at which half the time is fixed
    k_fill = k_slice / (k_slice + k_half)
    return peak * tile_fill * wave_fill * k_fill


def attention_efficiency(eff: EfficiencyModel, compute_class: str, keys_per_query: Array) -> Array:
    """FlashAttention's fraction of peak, ramping up with the keys each query attends to."""
    peak = eff.attention_peak.get(compute_class)
    return peak * keys_per_query / (keys_per_query + eff.attention_ramp_keys)


def collective_link_fraction(eff: EfficiencyModel, message_bytes: Array) -> Array:
    """Fraction of link bandwidth a collective of this message size reaches (NCCL size curve)."""
    return message_bytes / (message_bytes + eff.collective_half_bytes)
