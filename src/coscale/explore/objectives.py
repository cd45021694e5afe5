"""Objectives a design point is judged by, as pure functions of an inference sweep's columns.

Every explorer, feedback and report number that ranks designs goes through `objective_values`,
so "throughput per GPU" or "$ per million tokens" means one thing everywhere. Directions say
whether larger is better; a cost needs the GPU's hourly price, which the workload states (there is
no honest default price for a chip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.errors import CoscaleError
from coscale.predict.sweep import InferenceSweep
from coscale.workload.shape import Array


@dataclass(frozen=True, kw_only=True, slots=True)
class Objective:
    name: str
    unit: str
    maximize: bool
    description: str


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective(name="throughput_per_gpu", unit="tok/s/GPU", maximize=True,
              description="output tokens per second of the whole system, per GPU"),
    Objective(name="tokens_per_s_per_user", unit="tok/s", maximize=True,
              description="decode speed one user sees (1 / TPOT)"),
    Objective(name="ttft_s", unit="s", maximize=False, description="time to first token (prefill of the batch)"),
    Objective(name="tpot_s", unit="s", maximize=False, description="time per output token"),
    Objective(name="joules_per_token", unit="J/tok", maximize=False, description="energy per output token"),
    Objective(name="cost_per_mtok", unit="$/Mtok", maximize=False,
              description="GPU cost per million output tokens at the workload's $/GPU-hour"),
    Objective(name="memory_headroom", unit="fraction", maximize=True,
              description="share of device memory left free at the chosen batch"),
)}


def get_objective(name: str) -> Objective:
    if name not in OBJECTIVES:
        import difflib

        close = difflib.get_close_matches(name, list(OBJECTIVES), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise CoscaleError(f"unknown objective '{name}'.{hint} Valid: {', '.join(OBJECTIVES)}.")
    return OBJECTIVES[name]


def objective_values(sweep: InferenceSweep, name: str, usd_per_gpu_hour: float | None = None) -> Array:
    """The objective for every configuration of `sweep` (NaN where infeasible)."""
    get_objective(name)
    gpus = sweep.plan.parallel.gpus
    if name == "throughput_per_gpu":
        return sweep.throughput_tok_s / gpus
    if name == "tokens_per_s_per_user":
        return 1.0 / sweep.tpot_s
    if name in ("ttft_s", "tpot_s"):
        return getattr(sweep, name)
    if name == "joules_per_token":
        return sweep.energy_j_per_token
    if name == "cost_per_mtok":
        if usd_per_gpu_hour is None or not usd_per_gpu_hour > 0:
            raise CoscaleError("objective cost_per_mtok needs the workload's usd_per_gpu_hour (a positive price).")
        return usd_per_gpu_hour * gpus / 3600.0 / sweep.throughput_tok_s * 1e6
    capacity = sweep.plan.system.hardware.memory.hbm.capacity_bytes
    return np.where(sweep.feasible, 1.0 - sweep.memory_per_gpu_bytes / capacity, np.nan)
