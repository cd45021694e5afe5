"""A pool's capacity for the requests it actually served: the completion rate of a closed loop
that keeps every batch slot of every replica busy (`max_num_seqs` clients per replica, the serving
simulator's `saturated_rate` rule, or fewer when the KV pool holds fewer mean-length requests: more
clients would only be preempted) over the lengths the run sent it, drawn with replacement. One
replica is probed and its rate multiplied by the replicas: saturated, every replica is kept full. The
pool's load is its arrival rate over that capacity; the pool nearest 1 binds first as load rises.
The probe runs the lengths without their prefix names, so a pool whose requests share prefixes
(agent loops) reaches more than this capacity: there it is a lower bound."""

from __future__ import annotations

import numpy as np

from coscale.serve.engine import simulate
from coscale.serve.router import RouterConfig
from coscale.serve.scenario import make_replicas
from coscale.serve.system.pools import Pool
from coscale.serve.workload import ClosedLoop


def pool_capacity(pool: Pool, seed: int) -> float:
    """Requests/s the pool completes when saturated with its own request mix (0 when it served none)."""
    served = [s.req for r in pool.replicas for s in r.finished]
    if not served:
        return 0.0
    isl = np.array([r.input_tokens for r in served], dtype=np.int64)
    osl = np.array([r.output_tokens for r in served], dtype=np.int64)
    b = pool.built
    per_request = -(-int(np.mean(isl + osl)) // b.block_size)
    clients = max(min(b.sched.max_num_seqs, b.num_blocks // max(per_request, 1)), 1)
    n = max(3 * clients, 300)
    pick = np.random.default_rng(seed).integers(0, len(served), n)
    res = simulate(make_replicas(b)[:1], ClosedLoop(concurrency=clients, isl=isl[pick], osl=osl[pick]),
                   RouterConfig(policy=pool.spec.router))
    finish = np.sort([s.finish_s for s in res.sequences])
    lo, hi = finish[clients // 2], finish[-clients // 2 - 1]  # the steady part, between the first and last batch
    one = float((n - clients) / (hi - lo)) if hi > lo else float(n / finish[-1])
    return one * len(pool.replicas)
