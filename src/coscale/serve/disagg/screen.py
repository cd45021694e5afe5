"""Rate matching from the step-cost contract: what one prefill or decode instance sustains.

Used only to rank candidate pool layouts and P:D ratios before the simulator measures the best
few. A prefill instance's rate is its token throughput with every step filled to `max_batched_tokens`
(several mean prompts per step, or a long prompt in chunks) over the mean prompt; a decode
instance's is the largest batch whose step (at the mean mid-generation context, host overhead
included) stays under the TPOT limit and whose KV fits, divided by the step time and the mean
output length. An attention-DP + EP instance is its ranks, each at that rate (every rank as loaded
as the others, the core's symmetric rank). Steps are costed by the pool's own `StepCostModel` (the
core step contract); nothing here re-derives a cost.
"""

from __future__ import annotations

import numpy as np

from coscale.serve.scenario import Built

_EMPTY = np.zeros(0, dtype=np.int64)


def prefill_rate(b: Built, mean_input: float) -> float:
    """Requests/s one prefill instance (all its attention-DP ranks) sustains with every step full. A
    prompt no longer than the step token budget shares its step with others: whole mean prompts (at
    most `max_num_seqs`) and the first piece of the next fill the budget, each from an empty context. A
    longer prompt is prefilled in budget-sized chunks, each attending to the chunks before it."""
    budget, n = b.sched.max_batched_tokens, max(round(mean_input), 1)
    overhead = b.sched.host_overhead_s
    if n >= budget:
        total, done = 0.0, 0
        while done < n:
            c = min(budget, n - done)
            t, _ = b.cost.step(_EMPTY, np.array([c]), np.array([done]))
            total, done = total + t + overhead, done + c
        return b.ranks_per_instance / total
    k = min(budget // n, b.sched.max_num_seqs)
    rest = budget - k * n if k < b.sched.max_num_seqs else 0
    lens = np.array([n] * k + ([rest] if rest else []), dtype=np.int64)
    t, _ = b.cost.step(_EMPTY, lens, np.zeros(len(lens), dtype=np.int64))
    return b.ranks_per_instance * int(lens.sum()) / (t + overhead) / n


def decode_rate(b: Built, mean_input: float, mean_output: float, tpot_s: float) -> tuple[float, int]:
    """(requests/s, batch per rank) of one decode instance (all its attention-DP ranks) at the largest batch
    meeting `tpot_s`; (0, 0) if none does."""
    ctx = int(mean_input + mean_output / 2)
    per_seq_blocks = -(-int(mean_input + mean_output) // b.block_size)
    limit = min(b.sched.max_num_seqs, max(b.num_blocks // max(per_seq_blocks, 1), 0))

    def step(n: int) -> float:
        t, _ = b.cost.step(np.full(n, ctx, dtype=np.int64), _EMPTY, _EMPTY)
        return t + b.sched.host_overhead_s

    if limit < 1 or step(1) > tpot_s:
        return 0.0, 0
    lo, hi = 1, limit
    while lo < hi:  # largest n with step(n) <= tpot_s (step time grows with the batch)
        mid = (lo + hi + 1) // 2
        if step(mid) <= tpot_s:
            lo = mid
        else:
            hi = mid - 1
    return b.ranks_per_instance * lo / step(lo) / mean_output, lo
