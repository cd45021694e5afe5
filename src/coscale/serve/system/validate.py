"""Checks on a scenario's graphs that need no model loaded: stage kinds, names, pool references,
dependencies, cycles. Every failure is one CoscaleError line naming the graph, the stage and the fix."""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.serve.system.spec import POOL_KINDS, STAGE_KINDS, GraphSpec, PoolSpec, StageSpec

# a reranker scores tens to hundreds of passages, an agent runs tens of calls: 10^4 of either keeps a
# graph request's stage requests in memory (assumption: 100x headroom)
MAX_FANOUT = 10_000
MAX_TURNS = 10_000
# the shipped length fits spread 0.85-1.36 (serve.workload LengthPreset: Azure 2023, Mooncake); at 3 a log-normal's
# median is 1.1 % of its mean (exp(-4.5)), beyond it nearly every request is one token and a rare one is enormous
MAX_LENGTH_SIGMA = 3.0


def pool_of(graph: GraphSpec, stage: StageSpec, pools: tuple[PoolSpec, ...]) -> str | None:
    """The name of the pool a stage runs on (None for a delay), resolving `model` to its pool."""
    where = f"graph {graph.name!r} stage {stage.name!r}"
    if stage.kind not in POOL_KINDS:
        return None
    if stage.pool is not None:
        if stage.pool not in {p.name for p in pools}:
            raise CoscaleError(f"{where} runs on pool {stage.pool!r}, which no [pools.NAME] declares; "
                               f"declare it or use one of: {', '.join(repr(p.name) for p in pools) or 'none'}.")
        served = next(p.model for p in pools if p.name == stage.pool)
        if stage.model is not None and stage.model != served:
            raise CoscaleError(f"{where} names model {stage.model!r} but runs on pool {stage.pool!r}, which serves "
                               f"{served!r}; drop one of pool and model, or make them agree.")
        return stage.pool
    if stage.model is None:
        raise CoscaleError(f"{where} ({stage.kind}) names no pool; add pool = \"NAME\" or model = \"ID\".")
    serving = [p.name for p in pools if p.model == stage.model]
    if not serving:
        raise CoscaleError(f"{where} needs model {stage.model!r}, which no pool serves; add a [pools.NAME] with "
                           f"model = {stage.model!r}.")
    if len(serving) > 1:
        pools_named = ", ".join(map(repr, serving))
        raise CoscaleError(f"{where}: model {stage.model!r} is served by pools {pools_named}; name one with "
                           f"pool = \"NAME\".")
    return serving[0]


def topological_order(graph: GraphSpec) -> tuple[int, ...]:
    """Stage indices in an order where every stage follows its dependencies; refuses a cycle."""
    index = {s.name: i for i, s in enumerate(graph.stages)}
    for s in graph.stages:
        for dep in s.after:
            if dep not in index:
                raise CoscaleError(f"graph {graph.name!r} stage {s.name!r} runs after {dep!r}, which is not a stage "
                                   f"of this graph; use one of: {', '.join(map(repr, index))}.")
    state = [0] * len(graph.stages)  # 0 new, 1 on the path, 2 done
    order: list[int] = []
    for root in range(len(graph.stages)):
        if state[root]:
            continue
        path: list[int] = []
        stack = [(root, iter(graph.stages[root].after))]
        state[root] = 1
        path.append(root)
        while stack:
            node, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                path.pop()
                state[node] = 2
                order.append(node)
                continue
            d = index[dep]
            if state[d] == 1:
                cycle = [graph.stages[i].name for i in path[path.index(d):]] + [dep]
                shown = " -> ".join(map(repr, reversed(cycle)))
                raise CoscaleError(f"graph {graph.name!r} has a cycle: {shown}; a request graph must be acyclic "
                                   f"(repeat LLM calls with kind = \"agent\", turns = N).")
            if state[d] == 0:
                state[d] = 1
                path.append(d)
                stack.append((d, iter(graph.stages[d].after)))
    return tuple(order)


def check_stage(graph: GraphSpec, s: StageSpec) -> None:
    where = f"graph {graph.name!r} stage {s.name!r}"
    if s.kind not in STAGE_KINDS:
        raise CoscaleError(f"{where} has unknown kind {s.kind!r}; use one of: {', '.join(STAGE_KINDS)}.")
    counts = {"input_tokens": s.input_tokens, "output_tokens": s.output_tokens, "fanout": s.fanout,
              "turns": s.turns}
    for key, value in counts.items():
        if value < 1:
            raise CoscaleError(f"{where}: {key} must be >= 1, got {value}.")
    for key, value, high in (("fanout", s.fanout, MAX_FANOUT), ("turns", s.turns, MAX_TURNS)):
        if value > high:
            raise CoscaleError(f"{where}: {key} = {value:,} is more than {high:,}; give a smaller value.")
    for key, value in {"seconds": s.seconds, "tool_s": s.tool_s, "length_sigma": s.length_sigma,
                       "tool_tokens": s.tool_tokens, "shared_prefix_tokens": s.shared_prefix_tokens}.items():
        if not value >= 0 or value != value or value == float("inf"):
            raise CoscaleError(f"{where}: {key} must be a finite number >= 0, got {value}.")
    if s.length_sigma > MAX_LENGTH_SIGMA:
        raise CoscaleError(f"{where}: length_sigma = {s.length_sigma:g} is more than {MAX_LENGTH_SIGMA:g} (beyond it a "
                           "log-normal's median is below 1.1 % of its mean); give 0-3 (measured traces fit 0.85-1.4).")


def validate(pools: tuple[PoolSpec, ...], graphs: tuple[GraphSpec, ...]) -> dict[tuple[str, str], str | None]:
    """Check every graph; returns (graph, stage) -> the pool it runs on (None: a delay)."""
    if not pools:
        raise CoscaleError("the scenario declares no pools; add a [pools.NAME] table with model = \"ID\".")
    if not graphs:
        raise CoscaleError("the scenario declares no request graphs; add a [[graphs]] table with stages.")
    names = [g.name for g in graphs]
    if len(set(names)) != len(names):
        raise CoscaleError(f"two request graphs share a name ({names}); give each a unique name.")
    out: dict[tuple[str, str], str | None] = {}
    for g in graphs:
        if not g.stages:
            raise CoscaleError(f"graph {g.name!r} has no stages; add [[graphs.stages]] tables.")
        if not g.share > 0 or g.share == float("inf"):
            raise CoscaleError(f"graph {g.name!r}: share must be a positive number, got {g.share}.")
        stage_names = [s.name for s in g.stages]
        if len(set(stage_names)) != len(stage_names):
            raise CoscaleError(f"graph {g.name!r} has two stages with one name ({stage_names!r}); rename one.")
        for s in g.stages:
            check_stage(g, s)
        topological_order(g)
        for s in g.stages:
            out[(g.name, s.name)] = pool_of(g, s, pools)
    return out
