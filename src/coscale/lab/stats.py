"""Paired statistics over seeds: mean and Student-t 95 % confidence interval of per-seed gaps.

Every recipe is trained on the same seeds (same initial weights and batches per seed), so the gap
of recipe r on seed s is a paired difference to BF16 on that same seed; the seed-to-seed spread of
those differences is the noise a conclusion has to beat. With n seeds the interval is
mean ± t(0.975, n-1) · sd / sqrt(n).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# Two-sided 95 % critical values t(0.975, df) of Student's t for df = 1..30 (NIST/SEMATECH
# e-Handbook of Statistical Methods, section 1.3.6.7.2, "Critical values of the Student's t
# distribution", column 0.975).
T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
Z975 = 1.959964  # the normal quantile the t quantile tends to


def t975(df: int) -> float:
    """t(0.975, df): the table up to 30, then the Cornish-Fisher expansion in 1/df (Abramowitz &
    Stegun 26.7.5), within 0.001 of the exact value from df 30 on."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True, kw_only=True, slots=True)
class PairedStat:
    """Mean and 95 % interval of per-seed values; the interval is None with fewer than 2 values."""

    mean: float | None
    ci95_low: float | None
    ci95_high: float | None
    per_seed: tuple[float | None, ...]  # None where that seed's run diverged

    @property
    def has_interval(self) -> bool:
        return self.ci95_low is not None and self.ci95_high is not None

    @property
    def within_noise(self) -> bool | None:
        """True when the interval includes 0 (no detectable difference), None without an interval."""
        return None if not self.has_interval else self.ci95_low <= 0.0 <= self.ci95_high

    def as_dict(self) -> dict:
        return {"mean": self.mean, "ci95_low": self.ci95_low, "ci95_high": self.ci95_high,
                "per_seed": list(self.per_seed)}


def paired_stat(values: list[float | None]) -> PairedStat:
    """Statistics over the finite values (a diverged seed is kept as None in per_seed)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return PairedStat(mean=None, ci95_low=None, ci95_high=None, per_seed=tuple(values))
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return PairedStat(mean=mean, ci95_low=None, ci95_high=None, per_seed=tuple(values))
    half = t975(len(finite) - 1) * statistics.stdev(finite) / math.sqrt(len(finite))
    return PairedStat(mean=mean, ci95_low=mean - half, ci95_high=mean + half, per_seed=tuple(values))


def gap_pct(value: float, baseline: float) -> float:
    """Relative difference in percent."""
    return 100.0 * (value - baseline) / baseline


def separation(stat: PairedStat) -> str:
    """'worse' / 'better' when the whole interval lies above / below 0, else 'not separated'."""
    if not stat.has_interval:
        return "no interval"
    if stat.ci95_low > 0:
        return "worse"
    if stat.ci95_high < 0:
        return "better"
    return "not separated"
