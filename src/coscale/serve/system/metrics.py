"""What a system run reports: end-to-end and per-stage latency percentiles per request graph,
throughput, per-pool utilisation and Little's-law quantities, and which stage binds.

- A stage's latency runs from the moment it is ready (its dependencies done) to its end; its
  queueing is the time its requests waited before their first forward pass (parallel parts: the
  longest; agent turns: summed), its service the rest (tool time counted as service).
- Energy: each pool's passes (their step energy) and its GPUs' idle draw between passes over the
  run, the pool's share of the total, and the total per finished graph request.
- A pool's utilisation is the share of the run its replicas spent in forward passes; L (mean
  requests in the pool), lambda (arrivals/s) and W (mean time in the pool) obey L = lambda W.
- For a graph whose last stage generates, `first_output_s` is the time from arrival to that
  stage's first token (a voice turn's first audio code), and each generate / asr stage reports its
  `ttft_s` from ready.
- A pool's load is its offered rate (arrivals per second between its first and last arrival,
  so the drain at the end of a finite run does not dilute it) over its capacity (`capacity.pool_capacity`: the saturated
  completion rate for the requests it served); above 1 its queue grows. The binding stage of a graph is the pool stage
  whose pool has the highest load (ties: the larger queueing share): it saturates first as the
  request rate rises. Busy time alone cannot say this: a continuous-batching engine steps whenever
  it holds any request, so a lightly loaded LLM pool is "busy" nearly all the time.
"""

from __future__ import annotations

import numpy as np

from coscale.serve.metrics import idle_energy_j
from coscale.serve.system.capacity import pool_capacity
from coscale.serve.system.pools import Pool
from coscale.serve.system.sim import Graph, Sim
from coscale.serve.system.spec import SystemScenario
from coscale.serve.system.state import GraphRun

_PCTS = (50, 90, 99)


def dist(values: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    if not a.size:
        return {"mean": 0.0, **{f"p{p}": 0.0 for p in _PCTS}}
    return {"mean": float(a.mean()), **{f"p{p}": float(np.percentile(a, p)) for p in _PCTS}}


def _pool_report(pool: Pool, span: float, seed: int) -> dict[str, object]:
    b = pool.built
    busy = energy = 0.0
    out_tokens = in_tokens = 0
    logs = [r.log.arrays() for r in pool.replicas]
    for r, log in zip(pool.replicas, logs, strict=True):
        busy += float(np.sum(log["end_s"] - log["start_s"]))
        energy += float(np.sum(log["energy_j"]))
        out_tokens += sum(s.req.output_tokens for s in r.finished)
        in_tokens += sum(s.req.input_tokens for s in r.finished)
    util = busy / (len(pool.replicas) * span) if span > 0 else 0.0
    capacity = pool_capacity(pool, seed)
    window = pool.last_arrival_s - pool.first_s
    offered = (pool.arrivals - 1) / window if window > 0 else 0.0  # while requests were arriving
    sojourns = np.asarray(pool.sojourns)
    return {"model": b.model.name, "hardware": pool.spec.hardware, "gpus": b.parallel.gpus, "tp": b.parallel.tp,
            "pp": b.parallel.pp, "replicas": len(pool.replicas), "engine": b.preset.name,
            "kinds": sorted(pool.kinds), "kv_blocks": b.num_blocks, "block_size": b.block_size,
            "max_num_seqs": b.sched.max_num_seqs, "max_batched_tokens": b.sched.max_batched_tokens,
            "chunked_prefill": b.sched.chunked_prefill, "requests": pool.finished, "utilisation": util,
            "mean_in_pool": pool.area / span if span > 0 else 0.0,
            "arrival_rate_per_s": pool.arrivals / span if span > 0 else 0.0, "offered_rate_per_s": offered,
            "capacity_per_s": capacity, "load": offered / capacity if capacity > 0 else 0.0,
            "mean_time_in_pool_s": float(sojourns.mean()) if sojourns.size else 0.0,
            "input_tokens_per_s": in_tokens / span if span > 0 else 0.0,
            "output_tokens_per_s": out_tokens / span if span > 0 else 0.0,
            "preemptions": sum(r.preemptions for r in pool.replicas),
            # the passes' energy, and the GPUs' idle draw between passes over the run
            "energy_j": energy, "idle_energy_j": idle_energy_j(logs, [b.idle_w_per_replica] * len(logs), 0.0, span)}


def _stage_report(sim: Sim, g: int, s: int, e2e_mean: float, pools: dict[str, dict]) -> dict[str, object]:
    graph = sim.graphs[g]
    spec = graph.spec.stages[s]
    runs = [r.stages[s] for r in sim.runs if r.graph == g]
    lat = [sr.done_s - sr.ready_s for sr in runs]
    queue = np.mean([sr.queue_s for sr in runs]) if runs else 0.0
    mean_lat = float(np.mean(lat)) if lat else 0.0
    pool = graph.pool[s]
    out: dict[str, object] = {
        "kind": spec.kind, "pool": None if pool is None else sim.pools[pool].spec.name,
        "latency_s": dist(lat), "service_s": float(np.mean([sr.service_s for sr in runs])) if runs else 0.0,
        "queue_s": float(queue), "queue_share": float(queue / mean_lat) if mean_lat > 0 else 0.0,
        "share_of_e2e": mean_lat / e2e_mean if e2e_mean > 0 else 0.0,
        "requests_per_visit": float(np.mean([sr.visits for sr in runs])) if runs else 0.0,
    }
    if spec.kind in ("generate", "asr"):  # time to the first output token (first audio code for TTS)
        out["ttft_s"] = dist([sr.first_token_s - sr.ready_s for sr in runs])
    if pool is not None:
        out["pool_utilisation"] = pools[sim.pools[pool].spec.name]["utilisation"]
        out["pool_load"] = pools[sim.pools[pool].spec.name]["load"]
        prompt = sum(sr.prompt_tokens for sr in runs)
        out["prefix_hit_ratio"] = sum(sr.hit_tokens for sr in runs) / prompt if prompt else 0.0
    if spec.kind == "agent" and runs:
        turns = spec.turns
        out["turns"] = turns
        out["hit_ratio_by_turn"] = [float(sum(sr.turn_hits[k] for sr in runs) / sum(sr.turn_prompts[k] for sr in runs))
                                    for k in range(turns)]
        out["prompt_tokens_by_turn"] = [float(np.mean([sr.turn_prompts[k] for sr in runs])) for k in range(turns)]
    return out


def _first_output(graph: Graph, runs: list[GraphRun]) -> dict[str, object]:
    """Time from arrival to the first token of the graph's last stage when that stage generates
    (a voice turn's first audio code: when playback could start if the stage streamed out)."""
    sinks = [s for s, succ in enumerate(graph.successors) if not succ]
    if len(sinks) != 1 or graph.spec.stages[sinks[0]].kind not in ("generate", "asr"):
        return {}
    return {"first_output_s": dist([r.stages[sinks[0]].first_token_s - r.arrival_s for r in runs]),
            "first_output_stage": graph.spec.stages[sinks[0]].name}


def summarise(sc: SystemScenario, sim: Sim, simulated_s: float, wall_s: float) -> dict[str, object]:
    span = simulated_s
    pools = {p.spec.name: _pool_report(p, span, sc.seed + 1) for p in sim.pools}
    graphs: dict[str, object] = {}
    for g, graph in enumerate(sim.graphs):
        runs = [r for r in sim.runs if r.graph == g]
        e2e = [r.finish_s - r.arrival_s for r in runs]
        e2e_mean = float(np.mean(e2e)) if e2e else 0.0
        stages = {spec.name: _stage_report(sim, g, s, e2e_mean, pools) for s, spec in enumerate(graph.spec.stages)}
        pooled = [(name, st) for name, st in stages.items() if st["pool"] is not None]
        binding = max(pooled, key=lambda kv: (kv[1]["pool_load"], kv[1]["queue_share"]))[0] if pooled else None
        graphs[graph.spec.name] = {"completed": len(runs), "throughput_per_s": len(runs) / span if span > 0 else 0.0,
                                   "e2e_s": dist(e2e), **_first_output(graph, runs), "stages": stages,
                                   "binding_stage": binding}
    busiest = max(pools, key=lambda name: pools[name]["load"])
    joules = {name: p["energy_j"] + p["idle_energy_j"] for name, p in pools.items()}
    for name, p in pools.items():
        p["energy_share"] = joules[name] / sum(joules.values()) if sum(joules.values()) > 0 else 0.0
    return {"scenario": sc.name, "mode": "closed" if sc.concurrency is not None else "open",
            "rate_per_s": sc.rate, "concurrency": sc.concurrency, "num_requests": sc.num_requests, "seed": sc.seed,
            "simulated_s": span, "wall_s": wall_s, "events": sim.events,
            "throughput_per_s": len(sim.runs) / span if span > 0 else 0.0,
            # every pool's GPUs over the run (passes and idle draw) per finished graph request
            "energy_j_per_request": sum(joules.values()) / len(sim.runs) if sim.runs else float("nan"),
            "graphs": graphs, "pools": pools,
            "bottleneck": {"pool": busiest, "load": pools[busiest]["load"],
                           "capacity_per_s": pools[busiest]["capacity_per_s"],
                           "utilisation": pools[busiest]["utilisation"]}}
