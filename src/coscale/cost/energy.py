"""Energy from board power: a linear utilisation model between idle and TDP.

P = P_idle + (TDP - P_idle) * u, with u the busier of the two engines over the interval (tensor
cores or memory system: sum of per-op compute or memory time / elapsed time). This is the
first-order model of measured GPU power (power rises roughly linearly with SM and DRAM activity
and saturates near TDP under dense GEMM load); it ignores clock throttling.
"""

from __future__ import annotations

from coscale.specs.hardware import HardwareSpec


def gpu_energy_j(hardware: HardwareSpec, elapsed_s: float, compute_s: float, memory_s: float) -> float:
    if elapsed_s <= 0:
        return 0.0
    utilisation = min(max(compute_s, memory_s) / elapsed_s, 1.0)
    power = hardware.power.idle_w + (hardware.power.tdp_w - hardware.power.idle_w) * utilisation
    return power * elapsed_s
