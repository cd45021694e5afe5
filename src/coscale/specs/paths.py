"""Dotted paths into nested frozen dataclasses: read one number, replace one number, list them all.

Sweep axes and sensitivity analyses name fields as 'memory.hbm.bandwidth_Bps'; these helpers walk
the dataclass tree by field name, so a renamed field breaks loudly instead of silently matching
nothing. Replacement rebuilds each enclosing value, so the result is a new, still-frozen spec.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

from coscale.errors import CoscaleError


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def numeric_paths_of(obj: Any, *, skip: frozenset[str] = frozenset(), prefix: str = "") -> tuple[str, ...]:
    """Paths of every int/float leaf under `obj` (None-valued sub-specs are absent), in field order."""
    out: list[str] = []
    for f in fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        if is_dataclass(value):
            out.extend(numeric_paths_of(value, skip=skip, prefix=path + "."))
        elif _is_number(value):
            out.append(path)
    return tuple(out)


def _unknown(path: str, known: tuple[str, ...]) -> CoscaleError:
    close = difflib.get_close_matches(path, known, n=3, cutoff=0.5)
    if not close:
        head = path.split(".")[0]
        close = [p for p in known if p.startswith(head + ".")][:3]
    heads = sorted({p.split(".")[0] for p in known})
    hint = f"did you mean {', '.join(close)}?" if close else f"known paths start with {heads}"
    return CoscaleError(f"'{path}' is not a numeric field path here; {hint} (numeric_paths() lists them all)")


def get_path(obj: Any, path: str, known: Callable[[], tuple[str, ...]]) -> float:
    """The number at `path`; `known()` lists valid paths (only called to explain an error)."""
    value: Any = obj
    for part in path.split("."):
        if not is_dataclass(value) or part not in {f.name for f in fields(value)}:
            raise _unknown(path, known())
        value = getattr(value, part)
    if not _is_number(value):
        raise _unknown(path, known())
    return value


def _check_value(path: str, old: Any, value: Any) -> int | float:
    if not _is_number(value) or not math.isfinite(value):
        raise CoscaleError(f"'{path}' needs a finite number, got {value!r}")
    if value < 0:
        raise CoscaleError(f"'{path}' cannot be negative ({value!r}); use 0 only where 0 means 'absent'")
    if isinstance(old, int):
        if value != int(value):
            raise CoscaleError(f"'{path}' is a whole count; got {value!r}, give an integer")
        return int(value)
    return float(value)


def _rebuild(obj: Any, name: str, value: Any) -> Any:
    kwargs = {f.name: getattr(obj, f.name) for f in fields(obj) if f.init}
    kwargs[name] = value
    return type(obj)(**kwargs)


def replace_path(obj: Any, path: str, value: float, known: Callable[[], tuple[str, ...]]) -> Any:
    """A copy of `obj` with the number at `path` replaced (validated: finite, >= 0, whole for counts)."""
    old = get_path(obj, path, known)
    new_leaf = _check_value(path, old, value)
    parts = path.split(".")
    chain = [obj]
    for part in parts[:-1]:
        chain.append(getattr(chain[-1], part))
    new: Any = new_leaf
    for parent, part in zip(reversed(chain), reversed(parts), strict=True):
        new = _rebuild(parent, part, new)
    return new
