"""Error bands: an uncertainty interval for every prediction, from the validation residuals of its category.

A residual is the log ratio of predicted to published *speed* (a rate, or 1 / a time) of one
out-of-sample validation case: r = ln(predicted speed / true speed). Cases are grouped by
(chip family, phase, model kind); a prediction takes the band of its own cell, falling back to
coarser groups when a cell holds fewer than `min_cases` residuals:

    (family, phase, kind) -> (family, phase) -> (phase, kind) -> (phase,)

Within the chosen group the residuals are treated as a normal sample in log space and the band is the
two-sided prediction interval for one new case, m -/+ t(level, n-1) * s * sqrt(1 + 1/n) (Student t,
so a small group gives a wide band rather than an overconfident one). The band is *not* a correction:
the prediction is unchanged, and the band lies wherever the category's errors put the truth (below
the prediction if the category over-predicts). Calibration cases are excluded (their residuals are
in-sample by construction).

The residuals ship as data (`residuals.json`, written by `coscale validate --write-residuals`; a test
keeps it equal to what the current model predicts), so predicting never re-runs the validation set.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

Kind = Literal["rate", "time"]
LEVEL = 0.8
MIN_CASES = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class Residual:
    """One out-of-sample case: its category and ln(predicted speed / true speed)."""

    id: str
    family: str
    phase: str
    model_kind: str
    log_ratio: float


@dataclass(frozen=True, kw_only=True, slots=True)
class BandKey:
    family: str
    phase: str
    model_kind: str

    def groups(self) -> tuple[tuple[str, dict[str, str]], ...]:
        """The fallback chain, finest first: (label, the fields a residual must match)."""
        return (
            (f"{self.family} x {self.phase} x {self.model_kind}",
             {"family": self.family, "phase": self.phase, "model_kind": self.model_kind}),
            (f"{self.family} x {self.phase}", {"family": self.family, "phase": self.phase}),
            (f"{self.phase} x {self.model_kind}", {"phase": self.phase, "model_kind": self.model_kind}),
            (self.phase, {"phase": self.phase}),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ErrorBand:
    """Band on ln(predicted speed / true speed): [lo, hi] at `level`, from `cases` residuals of `group`."""

    lo: float
    hi: float
    level: float
    cases: int
    group: str

    def interval(self, value: float, kind: Kind) -> tuple[float, float]:
        """Where the true value lies for a predicted `value`: a rate divides by exp(r), a time multiplies."""
        if kind == "rate":
            return value * math.exp(-self.hi), value * math.exp(-self.lo)
        return value * math.exp(self.lo), value * math.exp(self.hi)

    def as_dict(self, value: float, kind: Kind) -> dict[str, Any]:
        low, high = self.interval(value, kind)
        return {"low": low, "high": high}


def student_t_quantile(p: float, df: int) -> float:
    """Upper quantile t_p of Student's t with `df` degrees of freedom (Cornish-Fisher expansion about the
    normal quantile; within 1 % of tables for df >= 3 at p <= 0.95)."""
    z = statistics.NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384.0
    return z + g1 / df + g2 / df**2 + g3 / df**3


def band_from(values: list[float], level: float, group: str) -> ErrorBand:
    n = len(values)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if n > 1 else 0.0
    half = student_t_quantile(0.5 + level / 2.0, max(n - 1, 1)) * sd * math.sqrt(1.0 + 1.0 / n)
    return ErrorBand(lo=mean - half, hi=mean + half, level=level, cases=n, group=group)


def band_for(key: BandKey, residuals: list[Residual], *, level: float = LEVEL, min_cases: int = MIN_CASES,
             exclude: str | None = None) -> ErrorBand | None:
    """The band of the finest group with at least `min_cases` residuals (`exclude`: leave that case out)."""
    for label, match in key.groups():
        values = [r.log_ratio for r in residuals
                  if r.id != exclude and all(getattr(r, f) == v for f, v in match.items())]
        if len(values) >= min_cases:
            return band_from(values, level, label)
    return None


def leave_one_out(residuals: list[Residual], *, level: float = LEVEL,
                  min_cases: int = MIN_CASES) -> dict[str, Any]:
    """Share of cases inside the band built without them, overall and per phase."""
    inside: dict[str, list[bool]] = {}
    for r in residuals:
        band = band_for(BandKey(family=r.family, phase=r.phase, model_kind=r.model_kind), residuals,
                        level=level, min_cases=min_cases, exclude=r.id)
        if band is None:
            continue
        inside.setdefault(r.phase, []).append(band.lo <= r.log_ratio <= band.hi)
    every = [x for xs in inside.values() for x in xs]
    return {"level": level, "cases": len(every), "share_inside": (sum(every) / len(every)) if every else None,
            "by_phase": {p: {"cases": len(xs), "share_inside": sum(xs) / len(xs)} for p, xs in sorted(inside.items())}}


def model_kind(model: Any) -> str:
    """'moe' when any layer routes to experts, 'hybrid' when any mixes in a state-space layer, else 'dense'."""
    kinds = {layer.kind for layer in model.layers}
    if any("moe" in k for k in kinds):
        return "moe"
    if any("mamba" in k for k in kinds):
        return "hybrid"
    return "dense"


def metric_kind(unit: str) -> Kind | None:
    """'time' for seconds, None for sizes (no speed), else 'rate'."""
    if unit == "s":
        return "time"
    if unit in ("GiB", "GB", "bytes"):
        return None
    return "rate"


def log_speed_ratio(predicted: float, published: float, kind: Kind) -> float:
    ratio = math.log(predicted / published)
    return ratio if kind == "rate" else -ratio


def load_residuals() -> list[Residual]:
    text = resources.files("coscale.validation").joinpath("residuals.json").read_text()
    return [Residual(**r) for r in json.loads(text)["residuals"]]


def residuals_to_json(residuals: list[Residual]) -> str:
    about = ("ln(predicted speed / published speed) of every out-of-sample validation case, by category; "
             "written by `coscale validate --write-residuals`; read by coscale.validation.bands")
    rows = [{"id": r.id, "family": r.family, "phase": r.phase, "model_kind": r.model_kind,
             "log_ratio": round(r.log_ratio, 6)} for r in residuals]
    return json.dumps({"_about": about, "residuals": rows}, indent=1) + "\n"
