"""Run a simulation on the compiled kernel and hand back the Python engine's `SimResult`."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from coscale.serve.compiled.eligibility import request_arrays_of
from coscale.serve.compiled.kernel import (
    C_BS,
    C_CACHING,
    C_CHECK,
    C_CHUNKED,
    C_MBT,
    C_MNS,
    C_NBLOCKS,
    C_POLICY,
    C_RESERVE,
    C_ROUTER,
    C_VICTIM,
    DECD,
    DISC,
    FINISH,
    FIRST,
    NC,
    OK,
    OVERLOADED,
    PRE,
    PREEMPTIONS,
    PREF,
    REHIT,
    SAMPLES,
    SCHED,
    simulate_kernel,
)
from coscale.serve.compiled.result import LogArrays, PoolShape, ReplicaRecord, SequenceViews, replica_itl, replica_logs
from coscale.serve.engine import Overloaded, SimResult
from coscale.serve.records import RequestArrays
from coscale.serve.replica import Replica
from coscale.serve.router import RouterConfig
from coscale.serve.workload import OpenLoop


def simulate_compiled(replicas: list[Replica], workload: OpenLoop, router: RouterConfig,
                      overload_wait_s: float | None = None,
                      capacity_probe: Callable[[], float] | None = None) -> SimResult | None:
    """`engine.simulate` on the compiled kernel for a run `compiled_ineligible` accepts; None when the
    kernel met what only the Python engine handles (a step outside the cost table, or requests it can
    never admit): the caller runs the Python engine then, which costs that step exactly or raises."""
    wall0 = time.perf_counter()
    reqs = workload.requests
    n = len(reqs)
    arr, inp, out = request_arrays_of(workload)
    r0 = replicas[0]
    bs = r0.pool.block_size
    boff = np.zeros(n + 1, dtype=np.int64)
    np.cumsum((inp + out + bs - 1) // bs, out=boff[1:])
    ooff = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(inp // bs, out=ooff[1:])
    cfg = np.zeros(NC, dtype=np.int64)
    c = r0.cfg
    cfg[C_NBLOCKS], cfg[C_BS], cfg[C_MNS], cfg[C_MBT] = r0.pool.num_blocks, bs, c.max_num_seqs, c.max_batched_tokens
    cfg[C_POLICY] = 0 if c.policy == "decode_first" else 1
    cfg[C_VICTIM] = 0 if c.victim == "newest" else 1
    cfg[C_RESERVE], cfg[C_CHUNKED], cfg[C_CACHING] = c.reserve_full, c.chunked_prefill, c.prefix_caching
    cfg[C_ROUTER] = 0 if router.policy == "round_robin" else 1
    cfg[C_CHECK] = overload_wait_s is not None
    cost = r0.cost.compiled_arrays()  # type: ignore[attr-defined]
    wait_s = overload_wait_s if overload_wait_s is not None else np.inf
    nrep = len(replicas)
    got = simulate_kernel(arr, inp, out, boff, ooff, nrep, cfg, float(c.host_overhead_s), float(wait_s), cost)
    if got[0] == OVERLOADED:
        now, waiting = got[2], got[10]
        capacity = capacity_probe()  # type: ignore[misc]
        rate = workload.mean_rate
        if rate is None or rate > capacity:
            raise Overloaded(
                f"overloaded: {waiting} requests queued at t = {now:.0f} s and growing; this deployment completes "
                f"about {capacity:.3g} requests/s when saturated, so lower --rate below that (or add GPUs).",
                capacity)
        cfg[C_CHECK] = 0  # a burst, not an overload: let the run finish (the check changes nothing else)
        got = simulate_kernel(arr, inp, out, boff, ooff, nrep, cfg, float(c.host_overhead_s), float(wait_s), cost)
    status, events, now, R, F, P, log_f, log_i, itl_v, itl_i, _ = got
    if status != OK:
        return None
    records = RequestArrays(
        arrival_s=arr, scheduled_s=F[:, SCHED].copy(), first_token_s=F[:, FIRST].copy(),
        finish_s=F[:, FINISH].copy(), input_tokens=inp, output_tokens=out, hit_tokens=np.zeros(n, dtype=np.int64),
        prefilled=R[:, PREF].copy(), decoded=R[:, DECD].copy(), preemptions=R[:, PRE].copy(),
        recomputed=R[:, DISC] - R[:, REHIT])
    logs = replica_logs(log_f, log_i, nrep)
    itl = replica_itl(itl_v, itl_i, nrep)
    pool = PoolShape(num_blocks=r0.pool.num_blocks, block_size=bs)
    reps = tuple(ReplicaRecord(index=i, cfg=c, pool=pool, log=LogArrays(columns=logs[i]), itl_values=itl[i][0],
                               itl_weights=itl[i][1], preemptions=int(P[i, PREEMPTIONS]), samples=int(P[i, SAMPLES]))
                 for i in range(nrep))
    seqs = SequenceViews(requests=reqs, records=records, discarded=R[:, DISC].copy(), rehit=R[:, REHIT].copy())
    return SimResult(sequences=seqs, replicas=reps, simulated_s=float(now),  # type: ignore[arg-type]
                     wall_s=time.perf_counter() - wall0, events=int(events), records=records, engine="compiled")
