"""The step-cost table's scalar lookups (`StepCostTable.step`, `_few_chunks`) compiled: the same
float operations in the same order on the same `_FastTotals` arrays, so every value is the Python one.

`CostArrays` holds the table as numpy arrays (a tuple, so the compiled kernel takes it as one argument).
A step the table cannot cost exactly as Python would (outside its limits, where Python calls the
exact `step_cost`; more than `_FLOAT_CHUNKS_MAX` prefill chunks, where Python sums on arrays) returns
ok = False: the run is abandoned and the Python engine runs it instead.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from coscale.cost.table import _FLOAT_CHUNKS_MAX, StepCostTable


class CostArrays(NamedTuple):
    token: np.ndarray  # (3, T + 1): time, compute, memory
    head: np.ndarray  # (3, rows + 1)
    gemm: np.ndarray  # (3, T + 1)
    hops: np.ndarray  # (T + 1,)
    decode: np.ndarray  # (3, rows + 1, context grid)
    chunk: np.ndarray  # (3, chunk grid, prefix grid)
    chunk_ops: np.ndarray  # (3, ops, chunk grid, prefix grid)
    chunk_op_counts: np.ndarray  # (ops,)
    context_grid: np.ndarray
    chunk_grid: np.ndarray
    prefix_grid: np.ndarray
    scalars: np.ndarray  # idle_w, dynamic_w, pass_gpus, min_kernel_s
    limits: np.ndarray  # max_tokens, max_seqs, max_context, max float chunks


def cost_arrays(table: StepCostTable) -> CostArrays:
    f = table._fast
    a = np.asarray
    return CostArrays(
        token=a([f.token_time, f.token_compute, f.token_memory], dtype=np.float64),
        head=a([f.head_time, f.head_compute, f.head_memory], dtype=np.float64),
        gemm=a([f.gemm_time, f.gemm_compute, f.gemm_memory], dtype=np.float64),
        hops=a(f.hops, dtype=np.float64),
        decode=a([f.decode_time, f.decode_compute, f.decode_memory], dtype=np.float64),
        chunk=a([f.chunk_time, f.chunk_compute, f.chunk_memory], dtype=np.float64),
        chunk_ops=np.ascontiguousarray(f.chunk_op_stack, dtype=np.float64),
        chunk_op_counts=a(f.chunk_op_counts, dtype=np.float64),
        context_grid=a(f.context_grid, dtype=np.float64), chunk_grid=a(f.chunk_grid, dtype=np.float64),
        prefix_grid=a(f.prefix_grid, dtype=np.float64),
        scalars=a([f.idle_w, f.dynamic_w, float(f.pass_gpus), f.min_kernel_s], dtype=np.float64),
        limits=a([table.max_tokens, table.max_seqs, table.max_context, _FLOAT_CHUNKS_MAX], dtype=np.int64))


@njit(cache=True, _nrt=False)
def _cell(grid, x):
    """bisect_right(grid, x) - 1, clipped to a cell of the grid."""
    lo, hi = 0, len(grid)
    while lo < hi:
        mid = (lo + hi) // 2
        if x < grid[mid]:
            hi = mid
        else:
            lo = mid + 1
    return min(max(lo - 1, 0), len(grid) - 2)


@njit(cache=True, _nrt=False)
def _pairwise(vals, k, o, n):
    """numpy's pairwise sum of vals[k, o, :n] for n <= 128 (`coscale.cost.table._numpy_sum`)."""
    if n < 8:
        total = -0.0
        for i in range(n):
            total += vals[k, o, i]
        return total
    r0, r1, r2, r3 = vals[k, o, 0], vals[k, o, 1], vals[k, o, 2], vals[k, o, 3]
    r4, r5, r6, r7 = vals[k, o, 4], vals[k, o, 5], vals[k, o, 6], vals[k, o, 7]
    i = 8
    while i < n - n % 8:
        r0 += vals[k, o, i]
        r1 += vals[k, o, i + 1]
        r2 += vals[k, o, i + 2]
        r3 += vals[k, o, i + 3]
        r4 += vals[k, o, i + 4]
        r5 += vals[k, o, i + 5]
        r6 += vals[k, o, i + 6]
        r7 += vals[k, o, i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += vals[k, o, i]
        i += 1
    return total


@njit(cache=True, _nrt=False)
def _bilinear(tab, k, i, j, wi, wj):
    low = tab[k, i, j] + (tab[k, i, j + 1] - tab[k, i, j]) * wj
    high = tab[k, i + 1, j] + (tab[k, i + 1, j + 1] - tab[k, i + 1, j]) * wj
    return low + (high - low) * wi


@njit(cache=True, _nrt=False)
def step_cost(c, n, dsum, dmax, cnew, cpre, nch, vals):
    """(time_s, energy_j, ok) of a step of `n` decode sequences whose contexts sum to `dsum` (largest
    `dmax`) and prefill chunks (cnew[:nch] new tokens on cpre[:nch] cached ones), as
    `CoreStepCost.step` / `decode_run` compute it through the table. `vals` is scratch of shape
    (3, len(c.chunk_op_counts), at least c.limits[3]) for the chunks' per-op values."""
    prefill = 0
    top = float(dmax) if n else 0.0
    for k in range(nch):
        prefill += cnew[k]
        if cnew[k] + cpre[k] > top:
            top = float(cnew[k] + cpre[k])
    tokens = n + prefill
    rows = n + nch
    lim = c.limits
    if tokens > lim[0] or rows > lim[1] or top > lim[2] or nch > lim[3]:
        return 0.0, 0.0, False
    time = c.token[0, tokens] + c.head[0, rows] + c.gemm[0, prefill] + c.hops[tokens]
    busy_c = c.token[1, tokens] + c.head[1, rows] + c.gemm[1, prefill]
    busy_m = c.token[2, tokens] + c.head[2, rows] + c.gemm[2, prefill]
    if n:
        mean = dsum / n
        grid = c.context_grid
        i = _cell(grid, mean)
        w = (mean - grid[i]) / (grid[i + 1] - grid[i])
        for j in range(3):
            a, b = c.decode[j, n, i], c.decode[j, n, i + 1]
            value = a + (b - a) * w
            if j == 0:
                time += value
            elif j == 1:
                busy_c += value
            else:
                busy_m += value
    if nch == 1:
        new, prefix = cnew[0], cpre[0]
        cg, pg = c.chunk_grid, c.prefix_grid
        i = _cell(cg, new)
        j = _cell(pg, prefix)
        wi, wj = (new - cg[i]) / (cg[i + 1] - cg[i]), (prefix - pg[j]) / (pg[j + 1] - pg[j])
        v0 = _bilinear(c.chunk, 0, i, j, wi, wj)
        v1 = _bilinear(c.chunk, 1, i, j, wi, wj)
        v2 = _bilinear(c.chunk, 2, i, j, wi, wj)
        time, busy_c, busy_m = time + v0, busy_c + v1, busy_m + v2
    elif nch > 1:
        t, bc, bm = _few_chunks(c, cnew, cpre, nch, vals)
        time, busy_c, busy_m = time + t, busy_c + bc, busy_m + bm
    if time <= 0:
        return 0.0, 0.0, True
    util = max(busy_c, busy_m) / time
    if util > 1.0:
        util = 1.0
    s = c.scalars
    return time, (s[0] + s[1] * util) * time * s[2], True


@njit(cache=True, _nrt=False)
def _few_chunks(c, cnew, cpre, nch, vals):
    cg, pg = c.chunk_grid, c.prefix_grid
    nops = len(c.chunk_op_counts)
    for q in range(nch):
        new, prefix = float(cnew[q]), float(cpre[q])
        i = _cell(cg, new)
        j = _cell(pg, prefix)
        wi = (new - cg[i]) / (cg[i + 1] - cg[i])
        wj = (prefix - pg[j]) / (pg[j + 1] - pg[j])
        a = c.chunk_ops
        for k in range(3):
            for o in range(nops):
                a00, a01, a10, a11 = a[k, o, i, j], a[k, o, i, j + 1], a[k, o, i + 1, j], a[k, o, i + 1, j + 1]
                low = a00 + (a01 - a00) * wj
                high = a10 + (a11 - a10) * wj
                vals[k, o, q] = low + (high - low) * wi
    floor = c.scalars[3]
    time = 0.0
    busy_c = 0.0
    busy_m = 0.0
    for o in range(nops):
        count = c.chunk_op_counts[o]
        compute = _pairwise(vals, 0, o, nch)
        memory = _pairwise(vals, 1, o, nch)
        network = _pairwise(vals, 2, o, nch)
        work = max(compute, memory)
        t = max(work, floor) if work > 0 else 0.0
        time += (t + network) * count
        busy_c += compute * count
        busy_m += memory * count
    return time, busy_c, busy_m


@njit(cache=True, _nrt=False)
def decode_base(c, n):
    """A decode-only step of `n` sequences (`n` within the table's limits): the terms of `step_cost`
    that do not depend on the contexts, (time, busy compute, busy memory), summed in its order, so a
    decode run costs each of its steps from them with `decode_step`."""
    time = c.token[0, n] + c.head[0, n] + c.gemm[0, 0] + c.hops[n]
    busy_c = c.token[1, n] + c.head[1, n] + c.gemm[1, 0]
    busy_m = c.token[2, n] + c.head[2, n] + c.gemm[2, 0]
    return time, busy_c, busy_m


@njit(cache=True, _nrt=False)
def decode_step(grid, dec, scalars, n, base_t, base_c, base_m, dsum, cell):
    """`step_cost(c, n, dsum, dmax, ...)` of a decode-only step whose largest context is within the
    table (the caller checks), given `decode_base(c, n)`, c.context_grid, c.decode and c.scalars (the
    arrays alone: a call passes no more references than it needs): (time_s, energy_j, context cell).
    `cell` is the previous step's context cell (the mean context only grows along a run, so the cell
    is found by stepping from it; the same cell as `_cell` finds)."""
    mean = dsum / n
    top = len(grid) - 2
    i = cell
    while i < top and grid[i + 1] <= mean:
        i += 1
    while i > 0 and grid[i] > mean:
        i -= 1
    w = (mean - grid[i]) / (grid[i + 1] - grid[i])
    time, busy_c, busy_m = base_t, base_c, base_m
    a, b = dec[0, n, i], dec[0, n, i + 1]
    time += a + (b - a) * w
    a, b = dec[1, n, i], dec[1, n, i + 1]
    busy_c += a + (b - a) * w
    a, b = dec[2, n, i], dec[2, n, i + 1]
    busy_m += a + (b - a) * w
    if time <= 0:
        return 0.0, 0.0, i
    util = max(busy_c, busy_m) / time
    if util > 1.0:
        util = 1.0
    return time, (scalars[0] + scalars[1] * util) * time * scalars[2], i
