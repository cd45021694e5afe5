"""The engine's step cost from the core step contract (`coscale.cost.step.step_cost`).

A thin adapter: the plan is built once; each forward pass the engine runs becomes a `StepShape` of
its decode sequences and prefill chunks. For speed the shapes are memoised on a grid: a decode group
by its size (exact in pure-decode steps, 1/64 octave above 128 sequences in mixed steps) and mean
cached context (1/32 octave), prefill chunks by their count, mean new tokens (1/64 octave) and mean
cached prefix (1/32 octave), evaluated as the uniform shape with those values: token counts within
~0.5 % and attention within ~1 % on full-attention models. Missing decode shapes are evaluated as one
array of uniform shapes (the contract's sweep form), two octaves of context ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from coscale.cost.plan import ExecutionPlan
from coscale.cost.step import step_cost
from coscale.workload.shape import StepShape

CTX_STEPS_PER_OCTAVE = 32
SEQS_STEPS_PER_OCTAVE = 64  # decode sequences of a mixed step (exact below 128)
TOKEN_STEPS_PER_OCTAVE = 64


def _grid(x: float, per_octave: int) -> float:
    """x on a geometric grid (integers below 2 * per_octave)."""
    if x < 2 * per_octave:
        return float(round(x))
    return float(2 ** (round(math.log2(x) * per_octave) / per_octave))


@dataclass(kw_only=True, slots=True)
class CoreStepCost:
    plan: ExecutionPlan
    _memo: dict[tuple[float, ...], tuple[float, float]] = field(default_factory=dict)

    def _uniform(self, keys: list[tuple[float, float, float, float, float]]) -> list[tuple[float, float]]:
        """(time, energy) of uniform steps (decode seqs, decode ctx, chunks, chunk new, chunk prefix), memoised."""
        todo = sorted({k for k in keys if k not in self._memo})
        if todo and all(k[2] == 0.0 for k in todo):
            # a decode batch's context only grows: cost the next two octaves of its grid in the same call
            band = {(k[0], _grid(k[1] * 2 ** (i / CTX_STEPS_PER_OCTAVE), CTX_STEPS_PER_OCTAVE), 0.0, 1.0, 0.0)
                    for k in todo for i in range(1, 2 * CTX_STEPS_PER_OCTAVE)}
            todo = sorted(set(todo) | {k for k in band if k not in self._memo})
        if todo:
            a = np.array(todo)
            c = step_cost(self.plan, StepShape.uniform(decode_seqs=a[:, 0], decode_context=a[:, 1],
                                                       prefill_seqs=a[:, 2], prefill_new=a[:, 3],
                                                       prefill_prefix=a[:, 4]))
            t, e = np.broadcast_to(c.time_s, len(todo)), np.broadcast_to(c.energy_j, len(todo))
            for k, ti, ei in zip(todo, t, e, strict=True):
                self._memo[k] = (float(ti), float(ei))
        return [self._memo[k] for k in keys]

    def step(self, decode_contexts: np.ndarray, prefill_new: np.ndarray,
             prefill_prefix: np.ndarray) -> tuple[float, float]:
        n = len(decode_contexts)
        ctx = _grid(float(decode_contexts.sum()) / n, CTX_STEPS_PER_OCTAVE) if n else 0.0
        m = len(prefill_new)
        if m:
            new = _grid(float(prefill_new.sum()) / m, TOKEN_STEPS_PER_OCTAVE)
            pre = _grid(float(prefill_prefix.sum()) / m, CTX_STEPS_PER_OCTAVE)
            key = (_grid(n, SEQS_STEPS_PER_OCTAVE), ctx, float(m), max(new, 1.0), pre)
        else:
            key = (float(n), ctx, 0.0, 1.0, 0.0)
        return self._uniform([key])[0]

    def decode_run(self, decode_contexts: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(decode_contexts)
        s = int(decode_contexts.sum())
        keys = [(float(n), _grid((s + n * j) / n, CTX_STEPS_PER_OCTAVE), 0.0, 1.0, 0.0) for j in range(steps)]
        out = self._uniform(keys)
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])
