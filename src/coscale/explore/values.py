"""Axis value specifications of a space file: a list, `{range = [...]}`, `{geom = [...]}`, `{scale = [...]}`.

Each is expanded once into a finite, non-empty tuple; anything else (an empty list, a range that
never ends, an infinite or NaN bound, a float where an integer is needed) is a one-line
`CoscaleError` naming the axis and the fix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coscale.commalist import MAX_INTEGER  # a count or a length: every product of two stays within int64
from coscale.errors import CoscaleError

MAX_AXIS_VALUES = 100_000  # refuse one axis longer than this (assumption: a typo, e.g. a step of 1 over 10^9)
SPEC_KEYS = ("values", "range", "geom", "scale")


def _finite_number(axis: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise CoscaleError(f"axis '{axis}': {x!r} is not a finite number; give finite numbers (no inf or nan).")
    return float(x)


def _range(axis: str, args: Any) -> list[float]:
    if not isinstance(args, list) or len(args) not in (2, 3):
        raise CoscaleError(f"axis '{axis}': range takes [start, stop] or [start, stop, step], got {args!r}.")
    nums = [_finite_number(axis, a) for a in args]
    start, stop, step = (*nums, 1.0) if len(nums) == 2 else nums
    if step == 0 or (stop - start) / step > MAX_AXIS_VALUES:
        raise CoscaleError(f"axis '{axis}': range {args} never ends or has more than {MAX_AXIS_VALUES} values; "
                           "use a non-zero step in the direction of stop, or {geom = [start, stop, n]}.")
    n = math.ceil((stop - start) / step)
    if n <= 0:
        raise CoscaleError(f"axis '{axis}': range {args} is empty (stop is exclusive and must lie beyond start "
                           "in the direction of step).")
    return [start + i * step for i in range(n)]


def _geom(axis: str, args: Any) -> list[float]:
    if not isinstance(args, list) or len(args) != 3:
        raise CoscaleError(f"axis '{axis}': geom takes [start, stop, n] (n values, both ends included), got {args!r}.")
    start, stop = _finite_number(axis, args[0]), _finite_number(axis, args[1])
    n = args[2]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_AXIS_VALUES:
        raise CoscaleError(f"axis '{axis}': geom's n must be an integer in 1..{MAX_AXIS_VALUES}, got {n!r}.")
    if start <= 0 or stop <= 0:
        raise CoscaleError(f"axis '{axis}': geom needs positive start and stop, got {args!r}.")
    return [float(v) for v in np.geomspace(start, stop, n)]


def expand(axis: str, spec: Any, *, integer: bool, allow_scale: bool = False) -> tuple[Any, ...]:
    """The values of one numeric axis; integers (deduplicated, order kept) where `integer`."""
    if isinstance(spec, dict):
        keys = [k for k in spec if k in SPEC_KEYS]
        if len(keys) != 1 or len(spec) != 1:
            raise CoscaleError(f"axis '{axis}': give exactly one of {', '.join(SPEC_KEYS)}, got keys {sorted(spec)}.")
        kind, args = keys[0], spec[keys[0]]
        if kind == "scale" and not allow_scale:
            raise CoscaleError(f"axis '{axis}': scale applies to hardware.<field> axes only; give a list or range.")
        raw = _range(axis, args) if kind == "range" else _geom(axis, args) if kind == "geom" else args
    else:
        raw = spec if isinstance(spec, list) else [spec]
    if not isinstance(raw, list) or not raw:
        raise CoscaleError(f"axis '{axis}' has no values; give at least one.")
    values = [_finite_number(axis, v) for v in raw]
    if allow_scale and any(v <= 0 for v in values):
        raise CoscaleError(f"axis '{axis}': scale factors must be positive, got {raw!r}.")
    if not integer:
        return tuple(dict.fromkeys(values))
    ints = [round(v) for v in values]
    if any(not 1 <= i <= MAX_INTEGER for i in ints):
        raise CoscaleError(f"axis '{axis}': values must be positive integers up to {MAX_INTEGER:,}, got {raw!r}.")
    if not isinstance(spec, dict) and any(v != i for v, i in zip(values, ints, strict=True)):
        raise CoscaleError(f"axis '{axis}': values must be whole numbers, got {raw!r}.")
    return tuple(dict.fromkeys(ints))


def expand_names(axis: str, spec: Any) -> tuple[str, ...]:
    """The values of a name axis (model, hardware, precision): one string or a list of strings."""
    raw = spec if isinstance(spec, list) else [spec]
    if not raw:
        raise CoscaleError(f"axis '{axis}' has no values; give at least one name.")
    if not all(isinstance(v, str) and v.strip() for v in raw):
        raise CoscaleError(f"axis '{axis}' takes names (strings), got {spec!r}.")
    return tuple(dict.fromkeys(raw))
