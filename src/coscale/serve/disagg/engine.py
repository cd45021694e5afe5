"""The disaggregated event loop: arrivals are prefilled on the prefill pool, their KV cache crosses
the link, and they are decoded on the decode pool.

Each pool is a list of ordinary engine instances (`coscale.serve.replica.Replica`) stepped by the same
`start_step` / `finish_step` / `truncate` as an aggregated deployment, so every forward pass is
costed by its pool's core step-cost model. A prefill instance runs each request as a one-token
request (the prefill samples the first token: TTFT) and keeps its blocks until the KV has been sent.
The decode instance is chosen when the prefill ends (fewest requests assigned, transfers in flight
included); the request joins its queue when the KV has arrived, with the prompt's KV counted as
computed (`Sequence.preloaded`), and is admitted when the engine has a batch slot and free blocks
for its prompt + first token. A decode instance that preempts it recomputes it locally.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from coscale.errors import CoscaleError
from coscale.serve.disagg.deployment import DisaggBuilt
from coscale.serve.disagg.transfer import Links, Transfer
from coscale.serve.engine import Overloaded, SimResult
from coscale.serve.events import EventQueue
from coscale.serve.kv import BlockPool
from coscale.serve.replica import Replica, finish_step, start_step, truncate
from coscale.serve.request import Request, prompt_keys
from coscale.serve.router import RouterConfig, route
from coscale.serve.sequence import Sequence
from coscale.serve.workload import Workload

PREFILL, DECODE = 0, 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Arrive:
    request: Request


@dataclass(frozen=True, kw_only=True, slots=True)
class PoolStepEnd:
    pool: int
    replica: int
    token: int


@dataclass(frozen=True, kw_only=True, slots=True)
class KvArrive:
    rid: int


@dataclass(kw_only=True, slots=True)
class _InFlight:
    req: Request
    pre: Sequence  # the prefill instance's sequence (holding its blocks)
    src: int
    dst: int
    transfer: Transfer


@dataclass(frozen=True, kw_only=True, slots=True)
class DisaggResult:
    sim: SimResult  # finished requests (decode-side records, prefill facts folded in), all replicas
    prefill: tuple[Replica, ...]
    decode: tuple[Replica, ...]
    transfers: tuple[Transfer, ...]
    link_busy_s: float
    decode_wait_s: dict[int, float]  # rid -> KV arrival to decode admission
    occupancy_s: tuple[float, float]  # time integral of requests in the prefill / decode pool (Little's law)


@dataclass(kw_only=True, slots=True)
class _State:
    b: DisaggBuilt
    prefill: list[Replica]
    decode: list[Replica]
    workload: Workload
    router: RouterConfig
    links: Links
    overload_wait_s: float | None
    orig: dict[int, Request] = field(default_factory=dict)
    flight: dict[int, _InFlight] = field(default_factory=dict)
    pre_seq: dict[int, tuple[Sequence, float]] = field(default_factory=dict)  # rid -> (prefill seq, KV arrival)
    inbound: list[int] = field(default_factory=list)  # transfers in flight per decode instance
    finished: list[Sequence] = field(default_factory=list)
    decode_wait: dict[int, float] = field(default_factory=dict)
    arrivals: int = 0
    area: list[float] = field(default_factory=lambda: [0.0, 0.0])
    last_t: float = 0.0


def make_pool(b, hold_kv: bool, fast_forward: bool = True, count: int | None = None) -> list[Replica]:
    """The pool's engine instances (the first `count` of them when given)."""
    return [Replica(index=i, cfg=b.sched, pool=BlockPool(num_blocks=b.num_blocks, block_size=b.block_size,
                                                         caching=b.sched.prefix_caching),
                    cost=b.cost, fast_forward=fast_forward, hold_kv=hold_kv)
            for i in range(b.replicas if count is None else count)]


def _occupancy(st: _State, now: float) -> None:
    """Accumulate requests present in each pool x time, counted from the instances' own queues."""
    dt = now - st.last_t
    if dt > 0:
        held = len(st.flight)
        st.area[PREFILL] += dt * (sum(len(r.waiting) + len(r.running) for r in st.prefill) + held)
        st.area[DECODE] += dt * sum(len(r.waiting) + len(r.running) for r in st.decode)
    st.last_t = now


def _on_arrival(st: _State, now: float, ev: Arrive) -> list:
    out: list = []
    req = ev.request
    nxt = st.workload.after_arrival(req)
    if nxt is not None:
        out.append((nxt.arrival_s, Arrive(request=nxt)))
    rep = route(st.router, st.prefill, st.arrivals)
    st.arrivals += 1
    st.orig[req.rid] = req
    rep.enqueue(replace(req, output_tokens=1) if req.output_tokens > 1 else req)
    end = start_step(rep, now) if rep.step is None else truncate(rep, now)
    if end is not None:
        out.append((end, PoolStepEnd(pool=PREFILL, replica=rep.index, token=rep.token)))
    if st.overload_wait_s is not None:
        _check_overload(st, now)
    return out


def _on_prefill_end(st: _State, now: float, ev: PoolStepEnd) -> list:
    rep = st.prefill[ev.replica]
    if ev.token != rep.token:
        return []
    assert rep.step is not None
    step_start = float(rep.step.starts[-2])
    out: list = []
    b = st.b
    for s in finish_step(rep):
        req = st.orig[s.req.rid]
        if req.output_tokens == 1:  # done at its first token: nothing to send
            rep.pool.release(s.blocks)
            s.set_blocks([])
            st.finished.append(s)
            out.extend(_next(st, req, now))
            continue
        dst = min(range(len(st.decode)), key=lambda j: (st.decode[j].load + st.inbound[j], j))
        nbytes = b.kv_bytes(req.input_tokens)
        t = st.links.schedule(rid=req.rid, src=rep.index, dst=dst, nbytes=nbytes,
                              duration_s=b.path.transfer_time(nbytes), layers=b.layers,
                              ready_s=s.scheduled_s + (now - step_start) / b.layers, prefill_end_s=now)
        st.inbound[dst] += 1
        st.flight[req.rid] = _InFlight(req=req, pre=s, src=rep.index, dst=dst, transfer=t)
        out.append((t.finish_s, KvArrive(rid=req.rid)))
    out.extend(_restart(rep, PREFILL, now))
    return out


def _restart(rep: Replica, pool: int, now: float) -> list:
    if rep.step is not None:
        return []
    end = start_step(rep, now)
    return [] if end is None else [(end, PoolStepEnd(pool=pool, replica=rep.index, token=rep.token))]


def _on_kv_arrival(st: _State, now: float, ev: KvArrive) -> list:
    f = st.flight.pop(ev.rid)
    src = st.prefill[f.src]
    src.pool.release(f.pre.blocks)  # sent: the prefill instance frees (and may cache) the prompt's blocks
    f.pre.set_blocks([])
    out = _restart(src, PREFILL, now)
    st.inbound[f.dst] -= 1
    dec = st.decode[f.dst]
    enqueue_preloaded(dec, f.req, f.pre.first_token_s)
    st.pre_seq[f.req.rid] = (f.pre, now)
    end = start_step(dec, now) if dec.step is None else truncate(dec, now)
    if end is not None:
        out.append((end, PoolStepEnd(pool=DECODE, replica=dec.index, token=dec.token)))
    return out


def enqueue_preloaded(rep: Replica, req: Request, first_token_s: float) -> None:
    """The request joins the decode queue with its prompt's KV present and its first token sampled."""
    need = rep.pool.blocks_for(req.input_tokens + req.output_tokens)
    if need > rep.pool.num_blocks:
        raise CoscaleError(
            f"request {req.rid} ({req.input_tokens} + {req.output_tokens} tokens) needs {need} KV blocks but a decode "
            f"instance holds {rep.pool.num_blocks}; give the decode pool more memory (--decode-tp, --decode-gpus, a "
            f"smaller --kv-precision) or shorten the request.")
    tab = rep.tab
    slot = tab.add(req.input_tokens + 1, req.output_tokens)
    tab.generated[slot] = 1
    tab.first[slot] = tab.last[slot] = first_token_s
    s = Sequence(req=req, keys=prompt_keys(req, rep.pool.block_size), tab=tab, slot=slot,
                 preloaded=req.input_tokens)
    rep.by_slot.append(s)
    rep.waiting.append(s)


def _on_decode_end(st: _State, now: float, ev: PoolStepEnd) -> list:
    rep = st.decode[ev.replica]
    if ev.token != rep.token:
        return []
    out: list = []
    for s in finish_step(rep):
        pre, arrived = st.pre_seq.pop(s.req.rid)
        st.decode_wait[s.req.rid] = s.scheduled_s - arrived
        # one record per request: the prefill's scheduling, cache hits and work folded in
        s.scheduled_s = pre.scheduled_s
        s.hit_tokens = pre.hit_tokens
        s.prefilled += pre.prefilled
        s.preemptions += pre.preemptions
        s.discarded += pre.discarded
        s.rehit_tokens += pre.rehit_tokens
        st.finished.append(s)
        out.extend(_next(st, s.req, now))
    out.extend(_restart(rep, DECODE, now))
    return out


def _next(st: _State, req: Request, now: float) -> list:
    nxt = st.workload.after_finish(req, now)
    return [] if nxt is None else [(nxt.arrival_s, Arrive(request=nxt))]


def _check_overload(st: _State, now: float) -> None:
    """Overloaded when either pool's queue holds more than two full batches per instance or its head
    has waited `overload_wait_s`, and arrivals outpace the completions so far."""
    for reps, name in ((st.prefill, "prefill"), (st.decode, "decode")):
        waiting = sum(len(r.waiting) for r in reps)
        heads = [now - r.waiting[0].req.arrival_s for r in reps if r.waiting]
        if waiting > 2 * sum(r.cfg.max_num_seqs for r in reps) or (heads and max(heads) > st.overload_wait_s):
            done = len(st.finished)
            rate = st.workload.mean_rate
            capacity = done / now if now > 0 else 0.0
            if rate is not None and rate <= capacity:
                return
            raise Overloaded(f"overloaded: the {name} pool has {waiting} requests queued at t = {now:.0f} s and "
                             f"growing; this deployment completed about {capacity:.3g} requests/s, so lower --rate "
                             f"below that or rebalance the pools.", capacity)


def simulate_disagg(b: DisaggBuilt, workload: Workload, router: RouterConfig | None = None,
                    overload_wait_s: float | None = None, track_occupancy: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> DisaggResult:
    """Run until every request has finished on the decode pool (or at its first token)."""
    prefill, decode = make_pool(b.prefill, hold_kv=True), make_pool(b.decode, hold_kv=False)
    st = _State(b=b, prefill=prefill, decode=decode, workload=workload, router=router or RouterConfig(),
                links=Links.of(len(prefill), len(decode)), overload_wait_s=overload_wait_s,
                inbound=[0] * len(decode))
    q = EventQueue()
    for req in workload.initial():
        q.push(req.arrival_s, Arrive(request=req))
    wall0 = time.perf_counter()
    now = 0.0
    while len(q):
        now, ev = q.pop()
        if track_occupancy:
            _occupancy(st, now)
        if isinstance(ev, PoolStepEnd):
            new = _on_prefill_end(st, now, ev) if ev.pool == PREFILL else _on_decode_end(st, now, ev)
        elif isinstance(ev, KvArrive):
            new = _on_kv_arrival(st, now, ev)
        else:
            new = _on_arrival(st, now, ev)
        for t, e in new:
            q.push(t, e)
        if progress is not None and q.handled % 4096 == 0:
            progress(len(st.finished), workload.total)
    stuck = [(n, r) for n, reps in (("prefill", prefill), ("decode", decode)) for r in reps if r.waiting or r.running]
    if stuck:
        n, r = stuck[0]
        raise CoscaleError(f"{n} instance {r.index} stopped with {len(r.waiting)} requests it can never admit; raise "
                           f"its --{n}-max-batched-tokens or give the pool more KV memory.")
    seqs = sorted(st.finished, key=lambda s: s.req.rid)
    sim = SimResult(sequences=tuple(seqs), replicas=tuple(prefill + decode), simulated_s=now,
                    wall_s=time.perf_counter() - wall0, events=q.handled)
    return DisaggResult(sim=sim, prefill=tuple(prefill), decode=tuple(decode), transfers=tuple(st.links.done),
                        link_busy_s=st.links.busy_s, decode_wait_s=st.decode_wait,
                        occupancy_s=(st.area[PREFILL], st.area[DECODE]))
