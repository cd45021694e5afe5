"""The engine's step cost from the core step contract, through its precomputed table.

A thin adapter: the plan is built once and tabulated once (`StepCostTable.build`, exact step cost
on grids, ~1 % of `step_cost` by construction); each forward pass the engine runs is looked up from
plain numbers (decode sequences, their summed cached context, and each prefill chunk's new tokens and
cached prefix) in microseconds. A step outside the table's limits (a static batch prefilling every
prompt at once, a context beyond the tabulated window) is costed exactly with `step_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.cost.plan import ExecutionPlan
from coscale.cost.step import step_cost
from coscale.cost.table import StepCostTable
from coscale.workload.shape import StepShape

SCALAR_STEPS_MAX = 16  # runs up to this long use the scalar lookup (~2 us a step; an array call costs ~40 us)


@dataclass(kw_only=True, slots=True)
class CoreStepCost:
    plan: ExecutionPlan
    max_tokens: int
    max_seqs: int
    table: StepCostTable | None = None
    _fallback: dict[tuple, tuple[float, float]] = field(default_factory=dict)
    _arrays: object | None = None  # the table as the compiled engine's arrays (built on its first run)

    def compiled_arrays(self) -> object:
        """The table's arrays for the compiled engine (`coscale.serve.compiled.cost.CostArrays`), built once."""
        if self._arrays is None:
            from coscale.serve.compiled.cost import cost_arrays

            self._arrays = cost_arrays(self.table)  # type: ignore[arg-type]
        return self._arrays

    def __post_init__(self) -> None:
        if self.table is None:
            self.table = StepCostTable.build(self.plan, max_tokens=self.max_tokens, max_seqs=self.max_seqs)

    def _fits(self, tokens: int, rows: int, context: float) -> bool:
        t = self.table
        return tokens <= t.max_tokens and rows <= t.max_seqs and context <= t.max_context

    def _exact(self, decode_contexts: np.ndarray, chunks: list[tuple[int, int]],
               group_tokens: float | None = None) -> tuple[float, float]:
        key = (tuple(decode_contexts.tolist()), tuple(chunks), group_tokens)
        hit = self._fallback.get(key)
        if hit is None:
            c = step_cost(self.plan, StepShape.of(decode_contexts=decode_contexts, prefill_chunks=chunks,
                                                  group_tokens=group_tokens))
            hit = (float(c.time_s), float(c.energy_j))
            self._fallback[key] = hit
        return hit

    def step(self, decode_contexts: np.ndarray, prefill_new: np.ndarray,
             prefill_prefix: np.ndarray, group_tokens: float | None = None) -> tuple[float, float]:
        n = len(decode_contexts)
        new, prefix = prefill_new.tolist(), prefill_prefix.tolist()
        chunks = list(zip(new, prefix, strict=True))
        tokens = n + sum(new)
        context = max(float(decode_contexts.max()) if n else 0.0, max(map(sum, chunks), default=0))
        if not self._fits(tokens, n + len(chunks), context):
            return self._exact(decode_contexts, chunks, group_tokens)
        return self.table.step(n, float(decode_contexts.sum()), chunks, group_tokens)  # type: ignore[union-attr]

    def decode_run(self, decode_contexts: np.ndarray, steps: int,
                   group_tokens: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = len(decode_contexts)
        s = int(decode_contexts.sum())
        top = int(decode_contexts.max()) if n else 0
        table = self.table
        assert table is not None
        j = np.arange(steps, dtype=np.int64)
        fits = top + j <= table.max_context if self._fits(n, n, 0) else np.zeros(steps, dtype=bool)
        if steps <= SCALAR_STEPS_MAX and fits.all():  # short runs: the scalar path is cheaper than arrays
            pairs = [table.step(n, float(s + n * i), (), group_tokens) for i in range(steps)]
            return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        t, e = table.decode_steps(n, (s + n * j[fits]).astype(np.float64), group_tokens) if fits.any() \
            else (None, None)
        out_t, out_e = np.empty(steps), np.empty(steps)
        if t is not None:
            out_t[fits], out_e[fits] = t, e
        for jj in np.flatnonzero(~fits).tolist():
            out_t[jj], out_e[jj] = self._exact(decode_contexts + jj, [], group_tokens)
        return out_t, out_e
