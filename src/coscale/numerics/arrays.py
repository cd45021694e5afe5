"""Bridge between numpy arrays and torch tensors.

Why: every kernel is written once in torch (vectorised, and the lab trains with torch); numpy
callers get the same bits back as a numpy array of their own dtype.  ml_dtypes numpy dtypes
(bfloat16, float8_*) are widened to float32 on the way in, which is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from coscale.errors import CoscaleError

_TORCH_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TORCH_NARROW = (torch.float8_e4m3fn, torch.float8_e5m2)


@dataclass(frozen=True, kw_only=True, slots=True)
class ArrayKind:
    """How to give a result back in the caller's array type and dtype."""

    is_numpy: bool
    np_dtype: Any = None
    torch_dtype: torch.dtype | None = None

    def restore(self, t: torch.Tensor) -> Any:
        if self.is_numpy:
            return t.detach().cpu().numpy().astype(self.np_dtype)
        return t.to(self.torch_dtype)


def to_work(x: Any) -> tuple[torch.Tensor, ArrayKind]:
    """Return (float32 or float64 torch tensor, how to restore). Raise on non-float input."""
    if isinstance(x, torch.Tensor):
        if x.dtype in _TORCH_NARROW or x.dtype in _TORCH_FLOATS:
            work = x if x.dtype in (torch.float32, torch.float64) else x.float()
            return work, ArrayKind(is_numpy=False, torch_dtype=x.dtype)
        raise CoscaleError(
            f"unsupported tensor dtype {x.dtype}; pass a floating tensor "
            f"(float16, bfloat16, float32, float64, float8_e4m3fn, float8_e5m2)"
        )
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        return torch.from_numpy(arr.copy()), ArrayKind(is_numpy=True, np_dtype=arr.dtype)
    if arr.dtype.kind == "f" or (arr.dtype.kind == "V" and _is_ml_float(arr.dtype)):
        f32 = arr.astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(f32)), ArrayKind(is_numpy=True, np_dtype=arr.dtype)
    raise CoscaleError(
        f"unsupported array dtype {arr.dtype}; pass floating-point data (float16/32/64, bfloat16, float8)"
    )


def _is_ml_float(dtype: np.dtype) -> bool:
    import ml_dtypes

    try:
        ml_dtypes.finfo(dtype)
    except ValueError:
        return False
    return True
