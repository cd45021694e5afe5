"""Which simulations the compiled engine runs: one function, `compiled_ineligible`, returns why a run
must stay on the Python engine (None: the compiled engine runs it, with the same results).

In scope: the aggregated deployment (N identical, fresh replicas on one step-cost table), an open
loop of requests without prefix hashes (so prefix caching can only hit a preempted request's own
blocks, which the compiled pool models), the round-robin and least-loaded routers without admission
control, the decode-first and prefill-first policies (chunked prefill, recompute preemption in the
engine's victim order, reserve-full admission), and the overload check when a capacity probe is given.
Out of scope (Python engine): KV tiers, disaggregated or KV-holding instances, attention-DP ranks in
lock-step, KV-aware routers and admission control, static batching, closed loops and sessions /
traces with prefix hashes, custom cost models.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from coscale.serve.core_cost import CoreStepCost
from coscale.serve.replica import Replica
from coscale.serve.router import RouterConfig
from coscale.serve.workload import OpenLoop, RequestColumns, Workload

ENGINES = ("auto", "python", "compiled")


def compiled_ineligible(replicas: list[Replica], workload: Workload, router: RouterConfig,
                        overload_wait_s: float | None, capacity_probe: Callable[[], float] | None) -> str | None:
    """Why the compiled engine cannot run this simulation value for value; None when it can."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numba is not installed"
    if not replicas:
        return "no replicas"
    r0 = replicas[0]
    if type(workload) is not OpenLoop:
        return f"workload {type(workload).__name__} (only open loops are compiled)"
    if router.policy not in ("round_robin", "least_loaded"):
        return f"router {router.policy} (only round_robin and least_loaded are compiled)"
    if router.admission != "none":
        return f"admission control '{router.admission}'"
    if r0.cfg.policy not in ("decode_first", "prefill_first"):
        return f"scheduler policy {r0.cfg.policy}"
    if not isinstance(r0.cost, CoreStepCost) or r0.cost.table is None:
        return f"step-cost model {type(r0.cost).__name__} (only the core step-cost table is compiled)"
    if r0.cost.table.token_ops_prefill is not None:
        return "DeepEP's all-to-all (its cost depends on whether a step holds prefill tokens)"
    if overload_wait_s is not None and capacity_probe is None:
        return "overload check without a capacity probe"
    for i, r in enumerate(replicas):
        if r.index != i:
            return "replica indices are not 0..N-1"
        if r.cfg != r0.cfg or r.cost is not r0.cost:
            return "replicas differ in scheduler or cost model"
        if (r.pool.num_blocks, r.pool.block_size, r.pool.caching) != (r0.pool.num_blocks, r0.pool.block_size,
                                                                      r0.cfg.prefix_caching):
            return "replicas differ in KV pool"
        if r.tiers is not None:
            return "KV tiers"
        if r.hold_kv:
            return "a KV-holding (prefill) instance"
        if r.lockstep is not None:
            return "attention-DP ranks stepping in lock-step"
        if not r.fast_forward:
            return "fast-forward off"
        if r.token or r.waiting or r.running or r.finished or r.pool.used or r.pool.evicted is not None \
                or r.pool.published is not None:
            return "replicas are not fresh"
    reqs = workload.requests
    if not isinstance(reqs, RequestColumns) and any(q.prefix_hashes for q in reqs):
        return "requests carry prefix hashes (prefix caching across requests)"
    _, inp, out = request_arrays_of(workload)
    bs = r0.pool.block_size
    if int(((inp + out + bs - 1) // bs).max()) > r0.pool.num_blocks:
        return "a request needs more KV blocks than the pool holds"
    if not r0.cfg.chunked_prefill and int(r0.cfg.one_step_tokens(inp, out).max()) > r0.cfg.max_batched_tokens:
        return "a request cannot be prefilled in one step without chunked prefill"
    return None


def request_arrays_of(workload: OpenLoop) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arrival_s, input_tokens, output_tokens) of an open loop's requests."""
    reqs = workload.requests
    if isinstance(reqs, RequestColumns):
        return reqs.arrival_s, reqs.input_tokens, reqs.output_tokens
    n = len(reqs)
    return (np.fromiter((q.arrival_s for q in reqs), dtype=np.float64, count=n),
            np.fromiter((q.input_tokens for q in reqs), dtype=np.int64, count=n),
            np.fromiter((q.output_tokens for q in reqs), dtype=np.int64, count=n))
