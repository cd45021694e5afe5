"""The event loop of a system of models: graph requests arrive, their stages become ready when their
dependencies finish, pool stages hand requests to the pool's replicas (the serving simulator's
`Replica`, `start_step`, `finish_step`, `truncate`: the same engine, step by step), delays and tool
calls are timers. One clock and one event queue for every pool, so pools shared by several graphs
(or visited many times by an agent) see all their load.

Events are tuples (time, sequence, code, a, b, c) in a heap; the sequence number breaks ties in
insertion order. Handlers are small functions of (sim, now, event fields).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.replica import finish_step, start_step, truncate
from coscale.serve.request import Request
from coscale.serve.router import route
from coscale.serve.sequence import Sequence
from coscale.serve.system.parts import agent_request, agent_task, sample
from coscale.serve.system.pools import Pool
from coscale.serve.system.spec import GraphSpec, StageSpec
from coscale.serve.system.state import GraphRun, StageRun

ARRIVE, READY, DELAY_DONE, TURN, STEP = range(5)


@dataclass(frozen=True, kw_only=True, slots=True)
class Graph:
    """A graph spec resolved against the pools: each stage's pool index and successors."""

    spec: GraphSpec
    pool: tuple[int | None, ...]  # per stage
    successors: tuple[tuple[int, ...], ...]
    deps: tuple[int, ...]


@dataclass(kw_only=True, slots=True)
class Sim:
    pools: list[Pool]
    graphs: list[Graph]
    rng: np.random.Generator
    total: int  # graph requests to run
    closed_loop: bool
    choices: np.ndarray  # graph of each request, in launch order
    heap: list[tuple] = field(default_factory=list)
    seq: int = 0
    events: int = 0
    runs: list[GraphRun] = field(default_factory=list)
    launched: int = 0
    issued: int = 0  # arrivals scheduled (a closed loop schedules one per completion, up to `total`)
    owner: dict[int, tuple[int, int]] = field(default_factory=dict)  # request id -> (graph request, stage)
    next_rid: int = 0
    next_task: int = 0

    def push(self, t: float, code: int, a: int = 0, b: int = 0, c: int = 0) -> None:
        heapq.heappush(self.heap, (t, self.seq, code, a, b, c))
        self.seq += 1


def _launch(sim: Sim, now: float) -> None:
    g = int(sim.choices[sim.launched])
    sim.launched += 1
    graph = sim.graphs[g]
    n = len(graph.spec.stages)
    run = GraphRun(gid=len(sim.runs), graph=g, arrival_s=now, stages=[StageRun() for _ in range(n)],
                   deps_left=list(graph.deps), remaining=n)
    sim.runs.append(run)
    for s in range(n):
        if graph.deps[s] == 0:
            _start_stage(sim, now, run, s)


def _start_stage(sim: Sim, now: float, run: GraphRun, s: int) -> None:
    graph = sim.graphs[run.graph]
    spec: StageSpec = graph.spec.stages[s]
    sr = run.stages[s]
    sr.ready_s = now
    if spec.kind == "delay":
        sim.push(now + spec.seconds, DELAY_DONE, run.gid, s)
        return
    pool = graph.pool[s]
    assert pool is not None
    if spec.kind == "agent":
        sr.task = agent_task(sim.rng, spec, sim.next_task, run.graph)
        sim.next_task += 1
        sr.parts_left = 1
        _submit(sim, now, pool, agent_request(sr.task, 0, sim.next_rid, now), run.gid, s)
        return
    fanout = spec.fanout if spec.kind == "encode" else 1
    inputs = sample(sim.rng, spec.input_tokens, spec.length_sigma, fanout)
    outputs = [1] * fanout if spec.kind == "encode" else sample(sim.rng, spec.output_tokens, spec.length_sigma, 1)
    sr.parts_left = fanout
    limit = _token_limit(sim.pools[pool], spec.kind)
    for isl, osl in zip(inputs, outputs, strict=True):
        isl = min(isl, limit - 1)  # drawn lengths clipped to what the model (and one encoder step) holds:
        osl = min(osl, limit - isl)  # the prompt first, the output stops at the context like a max_tokens
        _submit(sim, now, pool, Request(rid=sim.next_rid, arrival_s=now, input_tokens=isl, output_tokens=osl),
                run.gid, s)


def _token_limit(pool: Pool, kind: str) -> int:
    """Most tokens (input + output) one request may have on this pool: the model's context, and for
    an encoder pass (whole sequence in one step) the step's token budget."""
    b = pool.built
    limit = b.model.max_position_embeddings or (1 << 30)
    return min(limit, b.sched.max_batched_tokens) if kind == "encode" else limit


def _submit(sim: Sim, now: float, p: int, req: Request, gid: int, s: int) -> None:
    sim.next_rid += 1
    sim.owner[req.rid] = (gid, s)
    sr = sim.runs[gid].stages[s]
    sr.visits += 1
    sr.prompt_tokens += req.input_tokens
    pool = sim.pools[p]
    if pool.first_s < 0:
        pool.first_s = now
    pool.last_arrival_s = now
    pool.occupancy(now, +1)
    rep = route(pool.router, pool.replicas, pool.arrivals)
    pool.arrivals += 1
    rep.enqueue(req)
    end = start_step(rep, now) if rep.step is None else truncate(rep, now)
    if end is not None:
        sim.push(end, STEP, p, rep.index, rep.token)


def _on_step(sim: Sim, now: float, p: int, r: int, token: int) -> None:
    pool = sim.pools[p]
    rep = pool.replicas[r]
    if token != rep.token:
        return  # a run an arrival truncated
    for seq in finish_step(rep):
        _part_done(sim, now, pool, seq)
    if rep.step is None:
        end = start_step(rep, now)
        if end is not None:
            sim.push(end, STEP, p, rep.index, rep.token)


def _part_done(sim: Sim, now: float, pool: Pool, seq: Sequence) -> None:
    gid, s = sim.owner.pop(seq.req.rid)
    pool.occupancy(now, -1)
    pool.finished += 1
    pool.sojourns.append(now - seq.req.arrival_s)
    run = sim.runs[gid]
    sr = run.stages[s]
    spec = sim.graphs[run.graph].spec.stages[s]
    wait, service = seq.scheduled_s - seq.req.arrival_s, now - seq.scheduled_s
    sr.hit_tokens += seq.hit_tokens
    sr.first_token_s = max(sr.first_token_s, seq.first_token_s)  # an agent: its latest turn's
    if spec.kind == "agent":
        assert sr.task is not None
        sr.queue_s += wait
        sr.service_s += service
        sr.turn_hits.append(seq.hit_tokens)
        sr.turn_prompts.append(seq.req.input_tokens)
        sr.turn += 1
        if sr.turn < spec.turns:
            sr.service_s += spec.tool_s
            sim.push(now + spec.tool_s, TURN, gid, s)
            return
    else:
        sr.queue_s = max(sr.queue_s, wait)
        sr.service_s = max(sr.service_s, service)
        sr.parts_left -= 1
        if sr.parts_left:
            return
    _stage_done(sim, now, run, s)


def _on_turn(sim: Sim, now: float, gid: int, s: int) -> None:
    run = sim.runs[gid]
    sr = run.stages[s]
    assert sr.task is not None
    pool = sim.graphs[run.graph].pool[s]
    assert pool is not None
    _submit(sim, now, pool, agent_request(sr.task, sr.turn, sim.next_rid, now), gid, s)


def _stage_done(sim: Sim, now: float, run: GraphRun, s: int) -> None:
    sr = run.stages[s]
    sr.done_s = now
    if sim.graphs[run.graph].spec.stages[s].kind == "delay":
        sr.service_s = now - sr.ready_s
    run.remaining -= 1
    for t in sim.graphs[run.graph].successors[s]:
        run.deps_left[t] -= 1
        if run.deps_left[t] == 0:
            sim.push(now, READY, run.gid, t)
    if run.remaining == 0:
        run.finish_s = now
        if sim.closed_loop and sim.issued < sim.total:
            sim.issued += 1
            sim.push(now, ARRIVE)


def run_events(sim: Sim, arrivals: np.ndarray | None, concurrency: int | None) -> tuple[float, float]:
    """Run to the last completion; (simulated seconds, wall seconds)."""
    if arrivals is not None:
        for t in arrivals:
            sim.push(float(t), ARRIVE)
        sim.issued = len(arrivals)
    else:
        assert concurrency is not None
        sim.issued = min(concurrency, sim.total)
        for _ in range(sim.issued):
            sim.push(0.0, ARRIVE)
    wall0 = time.perf_counter()
    now = 0.0
    heap = sim.heap
    while heap:
        now, _, code, a, b, c = heapq.heappop(heap)
        sim.events += 1
        if code == STEP:
            _on_step(sim, now, a, b, c)
        elif code == ARRIVE:
            _launch(sim, now)
        elif code == READY:
            _start_stage(sim, now, sim.runs[a], b)
        elif code == TURN:
            _on_turn(sim, now, a, b)
        else:
            _stage_done(sim, now, sim.runs[a], b)
    stuck = [p.spec.name for p in sim.pools if any(r.waiting or r.running for r in p.replicas)]
    if stuck or any(r.finish_s < 0 for r in sim.runs):
        raise CoscaleError(f"pool '{stuck[0] if stuck else '?'}' stopped with requests it can never admit; raise its "
                           f"max_batched_tokens or its KV memory (gpus, num_gpu_blocks).")
    return now, time.perf_counter() - wall0
