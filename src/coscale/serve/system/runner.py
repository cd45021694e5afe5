"""A system scenario -> pools, graphs and arrivals -> a run -> its report (`run_system`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.system.metrics import summarise
from coscale.serve.system.parts import longest_agent_context
from coscale.serve.system.pools import BuiltCache, Pool, build_pool
from coscale.serve.system.sim import Graph, Sim, run_events
from coscale.serve.system.spec import StageSpec, SystemScenario
from coscale.serve.system.validate import topological_order, validate
from coscale.serve.workload import arrival_times


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemRun:
    """A finished run: the simulation state (every graph request and pool) and its report."""

    sim: Sim
    report: dict[str, object]


# graph requests one run simulates (a request graph has a few to tens of stages, and a stage fans out
# to at most MAX_FANOUT sequences, each a request of its pool's engine)
MAX_GRAPH_REQUESTS = 10**6


def with_load(sc: SystemScenario, rate: float | None = None, concurrency: int | None = None,
              num_requests: int | None = None, seed: int | None = None) -> SystemScenario:
    """The scenario with command-line overrides: a rate replaces a concurrency and the reverse."""
    if rate is not None and concurrency is not None:
        raise CoscaleError("give --rate or --concurrency, not both.")
    if rate is not None:
        sc = replace(sc, rate=rate, concurrency=None)
    if concurrency is not None:
        sc = replace(sc, concurrency=concurrency, rate=None)
    if num_requests is not None:
        sc = replace(sc, num_requests=num_requests)
    if seed is not None:
        sc = replace(sc, seed=seed)
    return sc


def _check_load(sc: SystemScenario) -> None:
    if (sc.rate is None) == (sc.concurrency is None):
        raise CoscaleError("give exactly one of a rate (--rate, [run] rate) or a concurrency (--concurrency, "
                           "[run] concurrency).")
    if sc.rate is not None and not (sc.rate > 0 and np.isfinite(sc.rate)):
        raise CoscaleError(f"the rate must be a positive number of graph requests/s, got {sc.rate}.")
    if sc.concurrency is not None and sc.concurrency < 1:
        raise CoscaleError(f"the concurrency must be >= 1, got {sc.concurrency}.")
    if not 1 <= sc.num_requests <= MAX_GRAPH_REQUESTS:
        raise CoscaleError(f"the number of graph requests must be in 1..{MAX_GRAPH_REQUESTS:,} (each spawns its "
                           f"stages' requests, all kept in memory), got {sc.num_requests:,}.")
    if not 0 <= sc.seed < 2**32:
        raise CoscaleError(f"the seed must be an integer in 0..2^32-1, got {sc.seed}.")


def _check_fits(graph: str, s: StageSpec, pool: Pool) -> None:
    """Mean-length requests must fit the model's context and, for an encoder pass, one step."""
    model = pool.built.model
    tokens = longest_agent_context(s) if s.kind == "agent" else s.input_tokens + (
        0 if s.kind == "encode" else s.output_tokens)
    limit = model.max_position_embeddings
    if limit and tokens > limit:
        raise CoscaleError(f"graph '{graph}' stage '{s.name}' needs {tokens} tokens, beyond the {limit}-token "
                           f"context of {model.name} (pool '{pool.spec.name}'); shorten the stage.")
    if s.kind == "encode" and s.input_tokens >= pool.built.sched.max_batched_tokens:
        raise CoscaleError(f"graph '{graph}' stage '{s.name}': {s.input_tokens} tokens do not fit one encoder step of "
                           f"pool '{pool.spec.name}' (max_batched_tokens {pool.built.sched.max_batched_tokens}).")


def prepare(sc: SystemScenario, cache: BuiltCache | None = None) -> tuple[list[Pool], list[Graph]]:
    """Validate the graphs, build every pool once for the stage kinds it serves, resolve the graphs."""
    _check_load(sc)
    where = validate(sc.pools, sc.graphs)
    used = {p.name: frozenset(s.kind for g in sc.graphs for s in g.stages if where[(g.name, s.name)] == p.name)
            for p in sc.pools}
    unused = [name for name, kinds in used.items() if not kinds]
    if unused:
        raise CoscaleError(f"pool '{unused[0]}' serves no stage of any graph; remove it or use it.")
    pools = [build_pool(p, used[p.name], cache) for p in sc.pools]
    index = {p.spec.name: i for i, p in enumerate(pools)}
    graphs = []
    for g in sc.graphs:
        topological_order(g)
        names = {s.name: i for i, s in enumerate(g.stages)}
        succ: list[list[int]] = [[] for _ in g.stages]
        for i, s in enumerate(g.stages):
            for dep in dict.fromkeys(s.after):  # a dependency listed twice is one edge
                succ[names[dep]].append(i)
        pool_idx = tuple(None if where[(g.name, s.name)] is None else index[where[(g.name, s.name)]]
                         for s in g.stages)
        for s, p in zip(g.stages, pool_idx, strict=True):
            if p is not None:
                _check_fits(g.name, s, pools[p])
        graphs.append(Graph(spec=g, pool=pool_idx, successors=tuple(tuple(x) for x in succ),
                            deps=tuple(len(set(s.after)) for s in g.stages)))
    return pools, graphs


def run_system(sc: SystemScenario, cache: BuiltCache | None = None) -> SystemRun:
    """Simulate `sc`; pass one `cache` dict to several runs of the same pools to build them once."""
    pools, graphs = prepare(sc, cache)
    rng = np.random.default_rng(sc.seed)
    shares = np.array([g.spec.share for g in graphs], dtype=np.float64)
    choices = rng.choice(len(graphs), size=sc.num_requests, p=shares / shares.sum())
    arrivals = arrival_times("poisson", sc.rate, sc.num_requests, rng) if sc.rate is not None else None
    sim = Sim(pools=pools, graphs=graphs, rng=rng, total=sc.num_requests, closed_loop=arrivals is None,
              choices=choices)
    simulated, wall = run_events(sim, arrivals, sc.concurrency)
    return SystemRun(sim=sim, report=summarise(sc, sim, simulated, wall))
