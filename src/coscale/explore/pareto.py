"""Exact Pareto fronts over any number of objectives, each maximised or minimised.

Points are sorted lexicographically from best to worst (every objective turned into "larger is
better"); a point can only be dominated by one before it in that order, so one pass that keeps a
running front is exact. The pass works in blocks: the best remaining block is reduced to its own
non-dominated rows (they are on the front: nothing before them survived to dominate them), then
every later point is screened against those new front members in one array comparison, which
removes most points early. Cost is about n x (front size) comparisons, all in numpy. NaN rows
(infeasible points) are never on a front; duplicate points are all kept (neither dominates the
other).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coscale.errors import CoscaleError

BLOCK = 256


def _dominated_by_any(front: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each row of `points`: does some row of `front` dominate it (>= everywhere, > somewhere)?"""
    cols = [np.ascontiguousarray(points[:, j]) for j in range(points.shape[1])]
    out = np.zeros(points.shape[0], dtype=bool)
    for f in front:  # fronts are small: one pass over the points' columns per member
        ge = cols[0] <= f[0]
        gt = cols[0] < f[0]
        for j in range(1, len(cols)):
            ge &= cols[j] <= f[j]
            gt |= cols[j] < f[j]
        out |= ge & gt
    return out


def pareto_mask(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of `values` (n points x k objectives)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(maximize) or v.shape[1] < 1:
        raise CoscaleError(f"pareto_mask needs an (n, {len(maximize)}) array, got shape {v.shape}.")
    sign = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    g = v * sign
    valid = np.isfinite(g).all(axis=1)
    idx = np.flatnonzero(valid)
    order = idx[np.lexsort(tuple(-g[idx, j] for j in reversed(range(g.shape[1]))))]
    gs = g[order]
    keep: list[np.ndarray] = []
    remaining = np.arange(gs.shape[0])
    while remaining.size:
        head, rest = remaining[:BLOCK], remaining[BLOCK:]
        sub = gs[head]
        # within the block only an earlier row can dominate a later one (lexicographic order)
        ge = (sub[:, None, :] >= sub[None, :, :]).all(axis=2)
        gt = (sub[:, None, :] > sub[None, :, :]).any(axis=2)
        new = head[~(ge & gt).any(axis=0)]
        keep.append(new)
        # screen everything after the block against the new front members only (the older ones
        # already screened it)
        alive = ~_dominated_by_any(gs[new], gs[rest])
        remaining = rest[alive]
    kept = np.concatenate(keep) if keep else np.empty(0, dtype=np.int64)
    mask = np.zeros(v.shape[0], dtype=bool)
    mask[order[kept]] = True
    return mask


def pareto_brute_force(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """O(n^2) reference: a finite row is on the front iff no finite row dominates it."""
    g = np.asarray(values, dtype=np.float64) * np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    valid = np.isfinite(g).all(axis=1)
    out = np.zeros(g.shape[0], dtype=bool)
    for i in range(g.shape[0]):
        if not valid[i]:
            continue
        out[i] = not any(valid[j] and (g[j] >= g[i]).all() and (g[j] > g[i]).any() for j in range(g.shape[0]))
    return out
