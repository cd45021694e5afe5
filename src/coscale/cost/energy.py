"""Energy from board power: a linear utilisation model between idle and TDP.

P = P_idle + (TDP - P_idle) * u, with u the busier of the two engines over the interval (tensor
cores or memory system: sum of per-op compute or memory time / elapsed time). This is the
first-order model of measured GPU power (power rises roughly linearly with SM and DRAM activity
and saturates near TDP under dense GEMM load); it ignores clock throttling.
"""

from __future__ import annotations

import numpy as np

from coscale.specs.hardware import HardwareSpec
from coscale.workload.shape import Array


def gpu_energy_j(hardware: HardwareSpec, elapsed_s: Array, compute_s: Array, memory_s: Array) -> Array:
    """Energy of one GPU over `elapsed_s` (numbers, or arrays over a sweep; 0 for an empty interval)."""
    elapsed = np.asarray(elapsed_s, dtype=np.float64)
    busy = np.maximum(compute_s, memory_s)
    utilisation = np.minimum(np.divide(busy, elapsed, out=np.zeros_like(busy * elapsed), where=elapsed > 0), 1.0)
    power = hardware.power.idle_w + (hardware.power.tdp_w - hardware.power.idle_w) * utilisation
    return np.where(elapsed > 0, power * elapsed, 0.0)
