"""Saturated throughput of one instance of a pool: what a decode pool sustains when requests wait
for it (SGLang's large-EP measurement holds the decode side back until it is full), and what a
prefill pool sustains with prompts queued (its prefill stress test: one large batch of prompts).

Every request arrives at once with its prompt's KV already present (as after a transfer) and the
instance runs its ordinary engine loop until all finish; the output rate is taken over the steps
whose batch is at least 90 % of the largest (the full-batch plateau, before the tail drains).
Instances of one pool are independent engines here (attention-DP ranks are costed by the core as
symmetric), so a pool's rate is this times its instances.
"""

from __future__ import annotations

import numpy as np

from coscale.serve.disagg.deployment import DisaggBuilt
from coscale.serve.disagg.engine import simulate_disagg
from coscale.serve.disagg.handoff import enqueue_preloaded
from coscale.serve.replica import Replica, finish_step, start_step
from coscale.serve.request import Request
from coscale.serve.router import RouterConfig
from coscale.serve.scenario import WorkloadSpec, make_replicas, saturation_loop, steady_completion_rate


def _drain(rep: Replica) -> dict[str, np.ndarray]:
    """Step one instance from t = 0 until it has nothing left to run; its step log."""
    now = 0.0
    end = start_step(rep, now)
    while end is not None:
        now = end
        finish_step(rep)
        end = start_step(rep, now)
    return rep.log.arrays()


def decode_saturated(b: DisaggBuilt, input_tokens: int, output_tokens: int, requests: int | None = None) -> dict:
    """Output tokens/s of one decode instance kept full; `requests` defaults to what its KV pool holds
    at the end of generation (capped by max_num_seqs) plus one more full batch."""
    rep = make_replicas(b.decode, count=1)[0]
    per = rep.pool.blocks_for(input_tokens + output_tokens)
    batch = max(min(rep.pool.num_blocks // per, rep.cfg.max_num_seqs), 1)
    n = requests or 2 * batch
    for i in range(n):
        req = Request(rid=i, arrival_s=0.0, input_tokens=input_tokens, output_tokens=output_tokens)
        enqueue_preloaded(rep, req, 0.0)
    lg = _drain(rep)
    seqs, dur = lg["batch_seqs"], lg["end_s"] - lg["start_s"]
    full = seqs >= 0.9 * seqs.max()
    return {"tok_s": float(seqs[full].sum() / dur[full].sum()), "batch": int(seqs.max()),
            "kv_limited_batch": int(rep.pool.num_blocks // per), "requests": n, "steps": len(seqs),
            "step_s": float(np.mean(dur[full]))}


def prefill_saturated(b: DisaggBuilt, input_tokens: int, requests: int | None = None) -> dict:
    """Prompt tokens/s of one prefill instance with prompts queued: `requests` (default: enough for
    eight full steps) arrive at once and are prefilled to their first token; the rate is taken over the
    steps whose prefill tokens are at least 90 % of the most (full chunks, before the queue runs dry).
    The KV is taken as sent at once (the blocks are freed at the first token)."""
    rep = make_replicas(b.prefill, count=1)[0]
    n = requests or max(8 * -(-rep.cfg.max_batched_tokens // input_tokens), 2)
    for i in range(n):
        rep.enqueue(Request(rid=i, arrival_s=0.0, input_tokens=input_tokens, output_tokens=1))
    lg = _drain(rep)
    tokens, dur = lg["prefill_tokens"], lg["end_s"] - lg["start_s"]
    full = tokens >= 0.9 * tokens.max()
    return {"tok_s": float(tokens[full].sum() / dur[full].sum()), "step_tokens": int(tokens.max()),
            "requests": n, "steps": len(tokens), "step_s": float(np.mean(dur[full]))}


def disagg_saturated_rate(b: DisaggBuilt, w: WorkloadSpec, router: str) -> float:
    """Requests/s a disaggregated deployment completes with every decode batch slot kept busy: a closed
    loop of max_num_seqs clients per decode instance over three batches' worth of the workload's
    lengths (the aggregated `scenario.saturated_rate`, run through the disaggregated event loop, so the
    slower of the two pools and the link set it)."""
    clients = b.decode.sched.max_num_seqs * b.decode.replicas
    res = simulate_disagg(b, saturation_loop(w, clients), RouterConfig(policy=router))
    return steady_completion_rate([s.finish_s for s in res.sim.sequences], clients)
