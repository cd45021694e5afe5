"""Hardware levers: the elasticity of a workload's objective to every numeric chip field.

For each field (`coscale.specs.hardware.numeric_paths`, efficiencies excluded) the chip is rebuilt
with the field at (1 - STEP) and (1 + STEP) of its value through `HardwareSpec.with_value`, the
workload is predicted on both, and the central difference gives the elasticity. The lever's gain
is the objective's improvement when the field moves STEP in its better direction (up for rates and
sizes, down for latencies). The field is then scanned up to SCAN_MAX x: it saturates at the first
multiplier where the marginal elasticity falls below SATURATION_FRACTION of its initial value, and
the bound that binds there is "the bound that takes over". Fields at 0 (absent units, e.g. FP4 on
Hopper) have no elasticity; the what-ifs add them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from coscale.explore.feedback.evaluate import Evaluation, evaluate
from coscale.explore.feedback.workload import WorkloadEntry
from coscale.explore.objectives import get_objective
from coscale.specs.hardware import HardwareSpec, numeric_paths

STEP = 0.10  # +-10 % central difference (assumption: small enough to stay within one regime for most fields)
SCAN = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # multipliers of the saturation scan
SCAN_MAX = SCAN[-1]
SATURATION_FRACTION = 0.5  # marginal elasticity below half the initial one = saturated (assumption)
MIN_GAIN = 1e-4  # gains below 0.01 % are reported as no effect
INTEGER_FIELDS = frozenset({"compute.compute_units", "links.scaleup.domain_size"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Lever:
    path: str
    base_value: float
    change: float  # relative change of the field that the gain refers to (+0.1 or -0.1)
    gain: float  # relative improvement of the objective (positive = better)
    elasticity: float  # d ln(objective) / d ln(field)
    bound_before: str
    bound_after: str  # the binding resource at the saturation point (or at the end of the scan)
    saturates_at: float | None  # multiplier of the field where the gain flattens; None = not within the scan
    scan: tuple[tuple[float, float], ...]  # (multiplier, gain vs base)


def lower_is_better(path: str) -> bool:
    return path.endswith("latency_s")


def improvement(objective: str, base: float, new: float) -> float:
    """Relative improvement of `new` over `base` (positive = better in the objective's direction)."""
    if not (math.isfinite(base) and math.isfinite(new)) or base == 0:
        return 0.0 if new == base else (math.inf if math.isfinite(new) else -1.0)
    return new / base - 1.0 if get_objective(objective).maximize else base / new - 1.0


def scaled(hw: HardwareSpec, path: str, multiplier: float) -> HardwareSpec:
    value = hw.get(path) * multiplier
    if path in INTEGER_FIELDS:
        value = max(1, round(value))
    return hw.with_value(path, value)


def lever_paths(hw: HardwareSpec) -> tuple[str, ...]:
    return tuple(p for p in numeric_paths(hw, include_efficiency=False) if hw.get(p) > 0)


def rank_levers(hw: HardwareSpec, entries: Sequence[WorkloadEntry], objective: str,
                usd_per_gpu_hour: float | None, base: Evaluation | None = None) -> list[Lever]:
    base = base or evaluate(hw, entries, objective, usd_per_gpu_hour)
    levers = [_lever(hw, path, entries, objective, usd_per_gpu_hour, base) for path in lever_paths(hw)]
    return sorted(levers, key=lambda lv: (-lv.gain, lv.path))


def _multipliers(hw: HardwareSpec, path: str) -> tuple[float, float]:
    """(down, up) multipliers; integer fields move by at least one unit."""
    if path not in INTEGER_FIELDS:
        return 1.0 - STEP, 1.0 + STEP
    v = hw.get(path)
    return max(1, round(v * (1 - STEP)) if round(v * (1 - STEP)) < v else v - 1) / v, \
        (round(v * (1 + STEP)) if round(v * (1 + STEP)) > v else v + 1) / v


def _lever(hw: HardwareSpec, path: str, entries: Sequence[WorkloadEntry], objective: str,
           price: float | None, base: Evaluation) -> Lever:
    def at(m: float) -> Evaluation:
        return evaluate(scaled(hw, path, m), entries, objective, price)

    down, up = _multipliers(hw, path)
    lo, hi = at(down), at(up)
    elasticity = _log_slope(lo.value, hi.value, down, up)
    better = lo if lower_is_better(path) else hi
    change = (down if lower_is_better(path) else up) - 1.0
    gain = improvement(objective, base.value, better.value)
    if abs(gain) < MIN_GAIN:
        return Lever(path=path, base_value=hw.get(path), change=change, gain=0.0, elasticity=0.0,
                     bound_before=base.bound, bound_after=base.bound, saturates_at=None, scan=())
    scan, saturates, bound_after = _saturation(at, objective, base, path)
    return Lever(path=path, base_value=hw.get(path), change=change, gain=gain, elasticity=elasticity,
                 bound_before=base.bound, bound_after=bound_after, saturates_at=saturates, scan=scan)


def _log_slope(a: float, b: float, ma: float, mb: float) -> float:
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or b <= 0:
        return math.nan
    return (math.log(b) - math.log(a)) / (math.log(mb) - math.log(ma))


def _saturation(at, objective: str, base: Evaluation, path: str):
    """Scan the field in its better direction; return (scan, saturation multiplier, bound there)."""
    points = [(1.0, base)]
    for m in SCAN[1:]:
        points.append((m, at(1.0 / m if lower_is_better(path) else m)))
    slopes = [abs(_log_slope(a.value, b.value, ma, mb)) for (ma, a), (mb, b) in pairwise(points)]
    first = slopes[0] if slopes and math.isfinite(slopes[0]) else 0.0
    saturates, bound_after = None, points[-1][1].bound
    for (m, ev), slope in zip(points[1:], slopes, strict=True):
        if first > 0 and not slope >= SATURATION_FRACTION * first:
            saturates, bound_after = points[points.index((m, ev)) - 1][0], ev.bound
            break
    if saturates == 1.0:  # flat from the start of the scan: the benefit ends within the first step
        saturates = SCAN[1]
    scan = tuple((m, improvement(objective, base.value, ev.value)) for m, ev in points[1:])
    return scan, saturates, bound_after
