"""The layout grid the planner searches: every feasible (TP, CP, PP, VP, DP, EP, micro-batch,
recompute, ZeRO) for a GPU count.

The grid is the product of the search space (TP a power of two inside one scale-up domain, CP a
power of two up to `max_cp`, PP any divisor of the rest, the listed VP and micro-batch sizes, EP
any divisor of tp*cp*dp for MoE models); which points of it are feasible is decided by
`coscale.feasibility.layout_mask`, the same rules `predict train` applies to one layout, so the
planner never proposes a layout `predict train` rejects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from coscale.errors import CoscaleError
from coscale.feasibility import CODES, layout_mask, model_facts
from coscale.specs.model import ModelSpec
from coscale.train.layout import RECOMPUTE_MODES, Recompute, TrainLayout


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchSpace:
    micro_batches: tuple[int, ...] = (1, 2, 4, 8)
    recomputes: tuple[Recompute, ...] = RECOMPUTE_MODES
    zeros: tuple[int, ...] = (0, 1, 2, 3)
    virtual_stages: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    max_cp: int = 32


MAX_LAYOUTS = 2_000_000  # assumption: ~20 min at the planner's ~2,000 layouts/s on one core


def _divisors(n: int) -> list[int]:
    """Divisors in increasing order, in O(sqrt(n)) (a billion GPUs must not loop a billion times)."""
    small, large = [], []
    d = 1
    while d * d <= n:
        if n % d == 0:
            small.append(d)
            if d != n // d:
                large.append(n // d)
        d += 1
    return small + large[::-1]


def space_size(model: ModelSpec, gpus: int, domain: int, space: SearchSpace) -> int:
    """Layouts in the grid (before the feasibility rules), counted without building it."""
    moe = model_facts(model).has_experts
    rows = sum(len(_divisors(tp * cp * dp)) if moe else 1 for tp, cp, pp, dp in _shardings(gpus, domain, space))
    return rows * len(space.virtual_stages) * len(space.micro_batches) * len(space.recomputes) * len(space.zeros)


def check_space_size(model: ModelSpec, gpus: int, domain: int, space: SearchSpace) -> None:
    """Refuse, before any work, a search larger than MAX_LAYOUTS, saying how large it is."""
    n = space_size(model, gpus, domain, space)
    if n > MAX_LAYOUTS:
        raise CoscaleError(
            f"the layout search for {gpus:,} GPUs spans {n:,} layouts, more than the {MAX_LAYOUTS:,} the planner "
            f"evaluates; plan a smaller parallel.gpus (e.g. one pod) or evaluate chosen layouts with `predict train`")


def _powers_of_two(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def _shardings(gpus: int, domain: int, space: SearchSpace) -> Iterator[tuple[int, int, int, int]]:
    """(tp, cp, pp, dp) with tp * cp * pp * dp = gpus, TP a power of two within the scale-up domain,
    in search order."""
    for tp in _powers_of_two(min(domain, gpus)):
        if gpus % tp:
            continue
        for cp in _powers_of_two(space.max_cp):
            if (gpus // tp) % cp:
                continue
            rest = gpus // (tp * cp)
            for pp in _divisors(rest):
                yield tp, cp, pp, rest // pp


def _grid(model: ModelSpec, gpus: int, domain: int, space: SearchSpace) -> np.ndarray:
    """Rows (tp, cp, pp, vp, dp, micro_batch, ep) in search order, before any feasibility rule."""
    moe = model_facts(model).has_experts
    rows = []
    for tp, cp, pp, dp in _shardings(gpus, domain, space):
        eps = _divisors(tp * cp * dp) if moe else [1]
        rows.extend((tp, cp, pp, vp, dp, mb, ep) for vp in space.virtual_stages
                    for mb in space.micro_batches for ep in eps)
    return np.array(rows, dtype=np.int64).reshape(-1, 7)


def _mask(model: ModelSpec, gpus: int, seq_len: int, global_batch: int, domain: int,
          space: SearchSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid rows, ok, reason code) over the search space."""
    check_space_size(model, gpus, domain, space)
    grid = _grid(model, gpus, domain, space)
    tp, cp, pp, vp, dp, mb, ep = grid.T
    ok, code = layout_mask(model_facts(model), tp=tp, pp=pp, ep=ep, cp=cp, vp=vp, dp=dp, gpus=gpus, seq_len=seq_len,
                           global_batch=global_batch, micro_batch=mb)
    return grid, ok, code


def rejections(model: ModelSpec, gpus: int, seq_len: int, global_batch: int, domain: int,
               space: SearchSpace = SearchSpace()) -> dict[str, int]:
    """How many grid points each feasibility rule rejected first, most frequent first."""
    _, _, code = _mask(model, gpus, seq_len, global_batch, domain, space)
    values, counts = np.unique(code[code > 0], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return {CODES[int(values[i]) - 1]: int(counts[i]) for i in order}


def enumerate_layouts(model: ModelSpec, gpus: int, seq_len: int, global_batch: int, domain: int,
                      space: SearchSpace = SearchSpace()) -> Iterator[TrainLayout]:
    grid, ok, _ = _mask(model, gpus, seq_len, global_batch, domain, space)
    for t, c, p, v, d, m, e in grid[ok].tolist():
        for rc in space.recomputes:
            for zero in space.zeros:
                yield TrainLayout(gpus=gpus, tp=t, pp=p, vp=v, dp=d, cp=c, ep=e, micro_batch=m,
                                  global_batch=global_batch, seq_len=seq_len, recompute=rc, zero=zero)
