"""The energy model P = P_idle + (TDP - P_idle) x u over the interval, u = max(compute, memory busy) /
elapsed capped at 1, with H100 SXM's published board power (700 W TDP, NVIDIA datasheet) and its
catalog idle figure; expected values are worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from coscale.cost.energy import gpu_energy_j
from coscale.hardware.catalog import load_hardware

H100 = load_hardware("h100-sxm")
IDLE, TDP = H100.power.idle_w, H100.power.tdp_w


def test_h100_board_power_is_the_datasheet_tdp() -> None:
    assert TDP == 700.0 and 0 < IDLE < TDP


@pytest.mark.parametrize(("elapsed", "compute", "memory", "utilisation"), [
    (1.0, 0.0, 0.0, 0.0),   # idle for a second
    (1.0, 1.0, 0.2, 1.0),   # tensor cores busy throughout
    (2.0, 0.5, 1.0, 0.5),   # the memory system is the busier engine, half the time
    (0.5, 0.1, 0.05, 0.2),
    (1.0, 3.0, 0.0, 1.0),   # busier than elapsed (overlapping ops): capped at TDP
])
def test_energy_is_power_times_time(elapsed: float, compute: float, memory: float, utilisation: float) -> None:
    want = (IDLE + (TDP - IDLE) * utilisation) * elapsed
    assert float(gpu_energy_j(H100, elapsed, compute, memory)) == pytest.approx(want)


def test_an_empty_interval_costs_nothing_and_arrays_work_elementwise() -> None:
    assert float(gpu_energy_j(H100, 0.0, 0.0, 0.0)) == 0.0
    e = gpu_energy_j(H100, np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.5, 2.0]), np.array([0.0, 0.25, 0.0]))
    assert e.tolist() == pytest.approx([0.0, IDLE + (TDP - IDLE) * 0.5, 2 * TDP])
