"""Discrete chip what-ifs a chip architect asks about, each predicted as a whole design.

- FP4 tensor cores: `compute.fp4` set to twice `compute.fp8` when the chip has none (assumption:
  the doubling every FP4-capable generation shows, B200 9 vs 4.5 PFLOP/s dense), native NVFP4/MXFP4
  block scaling, and the workload moved to the `nvfp4` recipe (the gain includes the 4-bit weights).
- 1.5x HBM capacity (`memory.hbm.capacity_bytes`), at the same layout; it pays only through a
  larger batch, so a workload with a given batch sees none of it.
- a 72-GPU scale-up domain (`links.scaleup.domain_size = 72`), same layout: it pays only when a
  collective group (TP or EP) spans more than the current domain.
- a prefill pool of another chip (a user chip file): prefill runs there, decode on the base chip,
  pools sized to the work (disaggregated); throughput per GPU is output tokens over the GPU time of
  both pools per request (same price per GPU hour for both pools: assumption, stated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from coscale.cost.roofline import BOUNDS
from coscale.explore.feedback.evaluate import entry_plan, evaluate, phase_gpu_seconds_by_bound
from coscale.explore.feedback.levers import improvement, scaled
from coscale.explore.feedback.workload import WorkloadEntry
from coscale.predict.capacity import serving_memory
from coscale.specs.hardware import ComputeSpec, HardwareSpec
from coscale.specs.precision import get_precision

FP4_OVER_FP8 = 2.0
DOMAIN = 72
CAPACITY = 1.5
DISAGG_OBJECTIVES = ("throughput_per_gpu", "cost_per_mtok")


@dataclass(frozen=True, kw_only=True, slots=True)
class WhatIf:
    name: str
    change: str
    gain: float | None  # relative improvement of the objective; None when it cannot be judged
    value: float | None
    bound_before: str
    bound_after: str
    note: str


def with_fp4(hw: HardwareSpec) -> HardwareSpec:
    c = hw.compute
    fp4 = c.fp4 if c.fp4 > 0 else FP4_OVER_FP8 * c.fp8
    formats = tuple(dict.fromkeys((*c.block_scaled_formats, "mxfp4", "nvfp4")))
    compute = ComputeSpec(**{**{f: getattr(c, f) for f in c.__slots__}, "fp4": fp4, "block_scaled_formats": formats})
    return replace(hw, compute=compute)


def run_whatifs(hw: HardwareSpec, entries: Sequence[WorkloadEntry], objective: str, price: float | None,
                prefill_chip: HardwareSpec | None = None) -> list[WhatIf]:
    base = evaluate(hw, entries, objective, price)

    def judged(name: str, change: str, chip: HardwareSpec, es: Sequence[WorkloadEntry], note: str) -> WhatIf:
        ev = evaluate(chip, es, objective, price)
        ok = math.isfinite(ev.value)
        return WhatIf(name=name, change=change, gain=improvement(objective, base.value, ev.value) if ok else None,
                      value=ev.value if ok else None, bound_before=base.bound,
                      bound_after=ev.bound if ok else "infeasible", note=note if ok else note + "; does not fit")

    fp4_entries = [replace(e, precision=get_precision("nvfp4", e.precision.kv_cache.name)) for e in entries]
    had = hw.compute.fp4 > 0
    out = [
        judged("fp4_tensor_cores", "compute.fp4 = " + ("as is" if had else "2 x compute.fp8") + ", precision nvfp4",
               with_fp4(hw), fp4_entries,
               ("the chip already has FP4 units: only the recipe changes" if had else
                f"FP4 peak {FP4_OVER_FP8:g} x FP8 (assumption); workload moved to nvfp4 weights and activations")),
        judged("hbm_capacity_1.5x", f"memory.hbm.capacity_bytes x {CAPACITY:g}", scaled(hw, "memory.hbm.capacity_bytes",
               CAPACITY), entries, "same layout and batch rule; helps only through a larger batch"),
        judged("nvlink_domain_72", f"links.scaleup.domain_size = {DOMAIN}",
               hw.with_value("links.scaleup.domain_size", DOMAIN), entries,
               "same layout; helps only where a TP/EP group spans more GPUs than the current domain"),
    ]
    if prefill_chip is not None:
        out.append(_disaggregated(hw, prefill_chip, entries, objective, base.value, base.bound))
    return out


def _disaggregated(hw: HardwareSpec, pchip: HardwareSpec, entries: Sequence[WorkloadEntry], objective: str,
                   base_value: float, base_bound: str) -> WhatIf:
    name, change = "prefill_pool", f"prefill on {pchip.name}, decode on {hw.name}"
    if objective not in DISAGG_OBJECTIVES:
        return WhatIf(name=name, change=change, gain=None, value=None, bound_before=base_bound, bound_after="n/a",
                      note=f"judged only for {', '.join(DISAGG_OBJECTIVES)}")
    colocated = disagg = 0.0
    by_bound = np.zeros(len(BOUNDS))
    for e in entries:
        isl, osl = np.float64(e.input_len), np.float64(e.output_len)
        batch = np.float64(e.batch) if e.batch is not None else None
        plan_d, plan_p = entry_plan(hw, e), entry_plan(pchip, e)
        if serving_memory(plan_p, 1, isl, 1).total > pchip.memory.hbm.capacity_bytes:
            return WhatIf(name=name, change=change, gain=None, value=None, bound_before=base_bound,
                          bound_after="infeasible", note=f"{e.model.name} does not fit one {pchip.name} instance")
        b = batch if batch is not None else np.float64(
            evaluate(hw, [e], "throughput_per_gpu", None).entries[0].batch)
        pre_d, dec_d = phase_gpu_seconds_by_bound(plan_d, b, isl, osl)
        pre_p, _ = phase_gpu_seconds_by_bound(plan_p, b, isl, osl)
        colocated += e.weight * float(pre_d.sum() + dec_d.sum())
        disagg += e.weight * float(pre_p.sum() + dec_d.sum())
        by_bound += e.weight * (np.nan_to_num(pre_p) + np.nan_to_num(dec_d))
    gain = colocated / disagg - 1.0  # GPU-seconds per request; tokens and price the same in both
    return WhatIf(name=name, change=change, gain=gain, value=None, bound_before=base_bound,
                  bound_after=BOUNDS[int(np.argmax(by_bound))],
                  note="pools sized to the work; same $/GPU-hour for both pools (assumption); "
                       "KV transfer between pools not counted (assumption: overlapped)")
