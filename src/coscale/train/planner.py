"""`plan_training`: search the layout grid, drop what does not fit, rank the rest by step time.

Memory is checked first (it is cheaper than the step model), so most of the grid is rejected
before any time is estimated. When nothing fits, the error names the closest layout and the
smallest GPU count (doubling) on which something would fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from coscale.errors import CoscaleError, DoesNotFitError
from coscale.feasibility.codes import SUMMARY
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout
from coscale.train.memory import TrainMemory, training_memory
from coscale.train.predict import TrainingPrediction, predict_feasible
from coscale.train.search import SearchSpace, enumerate_layouts, rejections

GIB = 2.0**30


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    ranked: tuple[TrainingPrediction, ...]  # fitting layouts, fastest first (top K)
    evaluated: int
    fitting: int
    wall_s: float

    @property
    def configs_per_s(self) -> float:
        return self.evaluated / self.wall_s if self.wall_s > 0 else float("inf")

    def why_best(self) -> str:
        if not self.ranked:
            return ""
        best = self.ranked[0]
        if len(self.ranked) == 1:
            return f"{best.layout.describe()} is the only layout that fits."
        second = self.ranked[1]
        a, b = _terms(best), _terms(second)
        name = max(a, key=lambda k: b[k] - a[k])
        gain = (second.step_time_s - best.step_time_s) / second.step_time_s
        if gain < 0.005:
            return (f"{best.layout.describe()} ties with {second.layout.describe()} (within {gain:.1%}); "
                    f"ranked first for lower memory ({best.memory.total / GIB:.1f} vs "
                    f"{second.memory.total / GIB:.1f} GiB) or, at equal memory, by search order.")
        return (f"{best.layout.describe()} beats {second.layout.describe()} by {gain:.1%}: "
                f"{name} {a[name]:.3g} s vs {b[name]:.3g} s.")


def _terms(p: TrainingPrediction) -> dict[str, float]:
    d = p.step.as_dict()
    out = {"compute": d["compute"], "recompute": d["recompute"], "host wait": d["host"],
           "pipeline bubble": d["pipeline_bubble"],
           "optimizer": d["optimizer"]}
    out.update({f"exposed {k} comm": v for k, v in d["exposed_comm"].items()})
    return out


def _memory(ctx: TrainingContext, layout: TrainLayout) -> TrainMemory:
    return training_memory(ctx.model, layout, ctx.precision, ctx.options,
                           ctx.stage_compositions(layout.pp, layout.vp), ctx.stage_params(layout),
                           ctx.unique_layers())


def plan_training(ctx: TrainingContext, seq_len: int, global_batch: int, top: int = 5,
                  space: SearchSpace | None = None) -> Plan:
    start = time.perf_counter()
    space = space or SearchSpace()
    gpus, hw = ctx.system.num_gpus, ctx.system.hardware
    capacity = hw.memory.hbm.capacity_bytes
    evaluated = 0
    closest: tuple[float, TrainLayout] | None = None
    results: list[TrainingPrediction] = []
    for layout in enumerate_layouts(ctx.model, gpus, seq_len, global_batch, hw.links.scaleup.domain_size, space):
        evaluated += 1
        mem = _memory(ctx, layout)
        if mem.total > capacity:
            if closest is None or mem.total < closest[0]:
                closest = (mem.total, layout)
            continue
        results.append(predict_feasible(ctx, layout, mem))
    if evaluated == 0:
        reasons = rejections(ctx.model, gpus, seq_len, global_batch, hw.links.scaleup.domain_size, space)
        top = "; ".join(f"{SUMMARY[code]} ({n})" for code, n in list(reasons.items())[:3])
        raise CoscaleError(
            f"no valid layout for {gpus} GPUs with train.global_batch={global_batch} and train.seq_len={seq_len}; "
            f"candidates broke these rules most often: {top}. Try a train.global_batch that is a multiple of "
            f"{gpus}, or a GPU count that is a power of two.")
    if not results:
        raise _nothing_fits(ctx, seq_len, global_batch, closest, space)
    results.sort(key=lambda p: (p.step_time_s, p.memory.total))
    return Plan(ranked=tuple(results[:top]), evaluated=evaluated, fitting=len(results),
                wall_s=time.perf_counter() - start)


def _nothing_fits(ctx: TrainingContext, seq_len: int, global_batch: int,
                  closest: tuple[float, TrainLayout] | None, space: SearchSpace) -> DoesNotFitError:
    hw, gpus = ctx.system.hardware, ctx.system.num_gpus
    near = f" closest: {closest[1].describe()} needs {closest[0] / GIB:.1f} GiB/GPU" if closest else ""
    suggestion = ""
    for factor in (2, 4, 8, 16, 32):
        more = TrainingContext(model=ctx.model, system=type(ctx.system)(hardware=hw, num_gpus=gpus * factor),
                               precision=ctx.precision, options=ctx.options, efficiency=ctx.efficiency)
        batch = max(global_batch, gpus * factor) if global_batch % (gpus * factor) else global_batch
        domain = hw.links.scaleup.domain_size
        fit = next((lay for lay in enumerate_layouts(ctx.model, gpus * factor, seq_len, batch, domain, space)
                    if _memory(more, lay).total <= hw.memory.hbm.capacity_bytes), None)
        if fit is not None:
            suggestion = f" It would fit on {gpus * factor} GPUs (e.g. {fit.describe()}, train.global_batch={batch})."
            break
    return DoesNotFitError(
        f"nothing fits: no layout of {ctx.model.name} on {gpus}x {hw.name} stays within "
        f"{hw.memory.hbm.capacity_bytes / GIB:.0f} GiB per GPU at train.seq_len={seq_len};{near}."
        f"{suggestion or ' Use more GPUs, a shorter train.seq_len or a lower precision.'}")
