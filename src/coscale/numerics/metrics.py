"""Quantization error statistics: QSNR, relative RMSE, saturation and flush-to-zero shares.

QSNR = 10 log10(sum x^2 / sum (x - x_hat)^2), the figure of reference/numerics.md section 6.
"Saturated" counts finite inputs whose magnitude exceeds the largest value the scheme can
represent for their block (|x| > elem_max * scale, with 1e-6 relative slack), i.e. values the grid clipped; "flushed to
zero" counts nonzero inputs that dequantize to exactly zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch

from coscale.errors import CoscaleError
from coscale.numerics.core import scaled_values
from coscale.numerics.formats import get_format
from coscale.numerics.schemes import QuantScheme, get_scheme

Dist = Literal["normal", "laplace", "student-t"]
DISTS = ("normal", "laplace", "student-t")


@dataclass(frozen=True, kw_only=True, slots=True)
class ErrorStats:
    scheme: str
    dist: str
    n: int
    seed: int
    qsnr_db: float
    rel_rmse: float
    saturated_frac: float
    flushed_to_zero_frac: float
    max_abs_err: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


MAX_SAMPLES = 1 << 27  # 512 MiB of float32 samples, plus as much again for the quantized copy


def sample(dist: str, n: int, seed: int) -> np.ndarray:
    """float32 samples; student-t uses 3 degrees of freedom (heavy tails, finite variance)."""
    if dist not in DISTS:
        raise CoscaleError(f"unknown distribution {dist!r}; use one of {', '.join(DISTS)}")
    if not 1 <= n <= MAX_SAMPLES:
        raise CoscaleError(f"--n must be a sample count between 1 and {MAX_SAMPLES}, got {n}")
    if seed < 0:
        raise CoscaleError(f"--seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)
    if dist == "normal":
        x = rng.standard_normal(n)
    elif dist == "laplace":
        x = rng.laplace(size=n)
    else:
        x = rng.standard_t(3, size=n)
    return x.astype(np.float32)


def quantization_error(
    x: torch.Tensor | np.ndarray, scheme: str | QuantScheme, *, dist: str = "custom", seed: int = -1
) -> ErrorStats:
    """Error statistics of dequantize(quantize(x)) for a 1-D or N-D float tensor."""
    sch = get_scheme(scheme)
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(torch.float32)
    sc = scaled_values(t, sch)
    y = sc.dequantized().to(torch.float64)
    xd = t.to(torch.float64)
    err = xd - y
    sig, noise = float((xd**2).sum()), float((err**2).sum())
    qsnr = float("inf") if noise == 0 else float(10 * np.log10(sig / noise))
    fmt = get_format(sch.element)
    limit = fmt.max * sc.scales * (sc.tensor_scale if sc.tensor_scale is not None else 1.0)
    xb = sc.layout.to_blocks(t)
    # 1e-6 relative slack: amax / max * max can land one ulp under amax without any clipping
    saturated = int(((xb.abs() > limit * (1 + 1e-6)) & torch.isfinite(xb)).sum())
    flushed = int(((y == 0) & (xd != 0)).sum())
    n = t.numel()
    return ErrorStats(
        scheme=sch.name,
        dist=dist,
        n=n,
        seed=seed,
        qsnr_db=qsnr,
        rel_rmse=float(np.sqrt(noise / sig)) if sig else 0.0,
        saturated_frac=saturated / n,
        flushed_to_zero_frac=flushed / n,
        max_abs_err=float(err.abs().max()),
    )
