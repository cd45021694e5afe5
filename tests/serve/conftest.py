"""A simple analytic step cost for engine-logic tests (not a performance model): a fixed launch time,
a per-token term and a per-attended-token term (no experts shared by attention-DP ranks: a lock-step
group's tokens change nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from coscale.serve.kv import BlockPool
from coscale.serve.replica import Replica
from coscale.serve.scheduler import SchedulerConfig


@dataclass(frozen=True, kw_only=True, slots=True)
class LinearCost:
    fixed_s: float = 5e-3
    per_token_s: float = 2e-5
    per_attended_s: float = 1e-8
    watts: float = 700.0

    def step(self, decode_contexts: np.ndarray, prefill_new: np.ndarray,
             prefill_prefix: np.ndarray, group_tokens: float | None = None) -> tuple[float, float]:
        tokens = int(len(decode_contexts) + prefill_new.sum())
        chunks = prefill_new * prefill_prefix + prefill_new * (prefill_new + 1) // 2
        attended = int(decode_contexts.sum() + chunks.sum())
        t = self.fixed_s + self.per_token_s * tokens + self.per_attended_s * attended
        return t, t * self.watts

    def decode_run(self, decode_contexts: np.ndarray, steps: int,
                   group_tokens: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = len(decode_contexts)
        attended = int(decode_contexts.sum()) + n * np.arange(steps, dtype=np.int64)
        t = self.fixed_s + self.per_token_s * n + self.per_attended_s * attended.astype(float)
        return t, t * self.watts


@pytest.fixture
def cost() -> LinearCost:
    return LinearCost()


@pytest.fixture
def cheap() -> LinearCost:
    """Steps so short that spaced requests never overlap."""
    return LinearCost(fixed_s=1e-6, per_token_s=1e-9, per_attended_s=0.0)


def make_replicas(cost, n: int = 1, num_blocks: int = 4096, block_size: int = 16, fast_forward: bool = True,
                  **sched) -> list:
    cfg = SchedulerConfig(**sched)
    return [Replica(index=i, cfg=cfg, pool=BlockPool(num_blocks=num_blocks, block_size=block_size,
                                                     caching=cfg.prefix_caching),
                    cost=cost, fast_forward=fast_forward) for i in range(n)]


@pytest.fixture
def replicas_factory():
    return make_replicas


def run_records(result) -> list[tuple]:
    """Every finished request's record, in request order."""
    return [(s.req.rid, s.scheduled_s, s.first_token_s, s.finish_s, s.preemptions, s.prefilled, s.decoded,
             s.hit_tokens, s.discarded, s.rehit_tokens) for s in result.sequences]


def assert_identical_runs(a, b, energy_rtol: float = 0.0) -> None:
    """Two runs gave the same results value for value: every record, inter-token gap, step-log array
    and report figure (wall time and event counts aside); `a` skipped events (fast-forward).
    `energy_rtol`: energies may differ by rounding (a lock-step rank's wait is the difference of two
    step boundaries, which a decode run and single passes round differently)."""
    from coscale.serve.metrics import Slo, report

    assert run_records(a) == run_records(b)
    for ra, rb in zip(a.replicas, b.replicas, strict=True):
        assert ra.itl_values == rb.itl_values and ra.itl_weights == rb.itl_weights
        la, lb = ra.log.arrays(), rb.log.arrays()
        for key in la:
            if key == "energy_j" and energy_rtol > 0:
                assert np.allclose(la[key], lb[key], rtol=energy_rtol, atol=0.0), key
            else:
                assert np.array_equal(la[key], lb[key]), key
    assert a.events < b.events  # the runs did skip events
    blank = {"wall_s": 0, "speedup_vs_real_time": 0, "events": 0}
    ra, rb = report(a, Slo()) | blank, report(b, Slo()) | blank
    key = "energy_j_per_output_token"
    assert ra[key] == pytest.approx(rb[key], rel=energy_rtol, abs=0.0)
    assert ra | {key: 0} == rb | {key: 0}
