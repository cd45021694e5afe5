"""Where the answer flips: the top chip lever across the input/output ratio of a workload entry.

The entry's total length (input + output) is kept and split at RATIOS input/output ratios; every
lever field moves STEP in its better direction and the whole ratio scan is one array prediction per
chip (`evaluate_entry` on arrays). The flip points are the ratios between which the top lever changes.
A mix is scanned through its first entry (stated in the output).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.explore.feedback.evaluate import evaluate_entry
from coscale.explore.feedback.levers import MIN_GAIN, STEP, lever_paths, lower_is_better, scaled
from coscale.explore.feedback.workload import WorkloadEntry
from coscale.explore.objectives import get_objective
from coscale.specs.hardware import HardwareSpec

RATIOS = np.geomspace(1 / 64, 1024, 41)  # input/output ratios scanned (wide enough for chat .. RAG)
NONE = "none"


@dataclass(frozen=True, kw_only=True, slots=True)
class Flip:
    ratio: float  # input/output ratio where the top lever changes (geometric midpoint of the two scan points)
    before: str  # top lever below the ratio
    after: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FlipScan:
    entry: str
    total_len: int
    ratios: tuple[float, ...]
    top: tuple[str, ...]  # top lever path at each ratio
    top_gain: tuple[float, ...]
    flips: tuple[Flip, ...]


def _improvements(objective: str, base: np.ndarray, new: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        g = new / base - 1.0 if get_objective(objective).maximize else base / new - 1.0
    return np.where(np.isfinite(g), g, -np.inf)


def flip_scan(hw: HardwareSpec, entry: WorkloadEntry, objective: str, price: float | None) -> FlipScan:
    total = entry.input_len + entry.output_len
    isl = np.clip(np.round(total * RATIOS / (1 + RATIOS)), 1, total - 1)
    osl = total - isl
    base = np.asarray(evaluate_entry(hw, entry, objective, price, isl, osl).value, dtype=float)
    paths = lever_paths(hw)
    gains = np.stack([_improvements(objective, base, np.asarray(evaluate_entry(
        scaled(hw, p, 1 - STEP if lower_is_better(p) else 1 + STEP), entry, objective, price, isl, osl).value,
        dtype=float)) for p in paths])
    best = np.argmax(gains, axis=0)
    best_gain = gains[best, np.arange(len(isl))]
    top = tuple(paths[i] if g > MIN_GAIN else NONE for i, g in zip(best, best_gain, strict=True))
    ratios = isl / osl
    flips = tuple(Flip(ratio=float(np.sqrt(ratios[i] * ratios[i + 1])), before=top[i], after=top[i + 1])
                  for i in range(len(top) - 1) if top[i] != top[i + 1])
    return FlipScan(entry=entry.name, total_len=total, ratios=tuple(float(r) for r in ratios), top=top,
                    top_gain=tuple(float(g) for g in best_gain), flips=flips)
