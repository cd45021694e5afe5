"""The disaggregated event loop: arrivals are prefilled on the prefill pool, their KV cache crosses
the link, and they are decoded on the decode pool.

Each pool is a list of ordinary engine instances (`coscale.serve.replica.Replica`) stepped by the same
`start_step` / `finish_step` / `truncate` as an aggregated deployment, so every forward pass is
costed by its pool's core step-cost model. A prefill instance runs each request as a one-token
request (the prefill samples the first token: TTFT) and keeps its blocks until the KV has been sent.
The decode instance is chosen when the request arrives (fewest requests assigned, reservations and
transfers in flight included) and asked at once for the blocks of the prompt + first token, as
SGLang's decode pre-allocation and Mooncake's Conductor do: the KV is written into blocks the decode
side has allocated, so the transfer starts only when they are reserved. A decode instance grants
reservations in arrival order at its scheduling points (when idle, or at the end of a step), from its
free blocks less those its already-arrived requests still need. A prefill that ends before its
reservation keeps its blocks (the KV waits on the prefill side) and sends the whole cache once the
blocks are granted; a reservation granted before the prefill lets the KV stream layer by layer behind
it. When the KV has arrived the reserved blocks become the request's: it goes to the head of the
decode queue with the prompt's KV counted as computed (`Sequence.preloaded`) and is admitted at the
next step. A decode instance that preempts it recomputes it locally.

With decode prefix reuse (`DisaggDeployment.decode_prefix_reuse`, vLLM's NixlConnector: the decode
side pulls only the prompt blocks beyond its local prefix-cache hit) the decode instance is the one
minimising Dynamo's KV-router cost (overlap weight x blocks to pull + blocks it holds or owes + the
request's), the grant pins the cached prefix it finds then and reserves blocks for the rest only,
only the rest crosses the link, and the transferred request holds its blocks from the KV's arrival,
publishing the received prompt blocks to the decode instance's prefix cache (a later turn can hit).

Admission control (`RouterConfig.admission`) acts at the prefill router as in an aggregated run: a
request no prefill instance is predicted to start within its TTFT limit is dropped (`reject`) or held
at the router until one can (`queue`); a turned-away request asks for no decode blocks.

Files: this loop and its handlers; `handoff` (decode block reservations, grants, the KV send and the
arrived request's entry into the decode queue); `state` (the run's state and events, shared by both).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from coscale.errors import CoscaleError
from coscale.serve.disagg.deployment import DisaggBuilt
from coscale.serve.disagg.handoff import ask_blocks, enqueue_preloaded, grant, send
from coscale.serve.disagg.state import DECODE, PREFILL, Arrive, KvArrive, PoolStepEnd, State, step_end_event
from coscale.serve.disagg.transfer import Links, Transfer
from coscale.serve.engine import Overloaded, SimResult
from coscale.serve.events import EventQueue
from coscale.serve.kv import PromptKeys
from coscale.serve.lockstep import ending, finish, members, restart, step_token, wake
from coscale.serve.replica import Replica, finish_step
from coscale.serve.request import Request, prompt_keys
from coscale.serve.router import PREFIX_ROUTERS, RouterConfig, route, waits_at_router, within_ttft_limit
from coscale.serve.scenario import make_replicas
from coscale.serve.workload import Workload


@dataclass(frozen=True, kw_only=True, slots=True)
class DisaggResult:
    sim: SimResult  # finished requests (decode-side records, prefill facts folded in), all replicas
    prefill: tuple[Replica, ...]
    decode: tuple[Replica, ...]
    transfers: tuple[Transfer, ...]
    link_busy_s: float
    decode_wait_s: dict[int, float]  # rid -> KV arrival to decode admission
    decode_reused_tokens: dict[int, int]  # rid -> prompt tokens the decode side had cached (not transferred)
    block_wait_s: dict[int, float]  # rid -> prefill end to the decode blocks' grant (0: granted before)
    occupancy_s: tuple[float, float]  # time integral of requests in the prefill / decode pool (Little's law)


def _occupancy(st: State, now: float) -> None:
    """Accumulate requests present in each pool x time, counted from the instances' own queues."""
    dt = now - st.last_t
    if dt > 0:
        held = len(st.flight) + sum(1 for r in st.reserved.values() if r.done is not None and r.granted_s < 0)
        st.area[PREFILL] += dt * (sum(len(r.waiting) + len(r.running) for r in st.prefill) + held)
        st.area[DECODE] += dt * sum(len(r.waiting) + len(r.running) for r in st.decode)
    st.last_t = now


def _on_arrival(st: State, now: float, ev: Arrive) -> list:
    out: list = []
    req = ev.request
    nxt = st.workload.after_arrival(req)
    if nxt is not None:
        out.append((nxt.arrival_s, Arrive(request=nxt)))
    # the prompt's block hashes, once: for a prefix-reading router, the prefill queue and the decode queue
    keys = prompt_keys(req, st.prefill[0].pool.block_size)
    reads = st.router.policy in PREFIX_ROUTERS or st.router.admission != "none"
    rep = route(st.router, st.prefill, st.arrivals, req if reads else None, keys=keys)
    st.arrivals += 1
    out.extend(_turn_away(st, now, req, keys) if rep is None else _dispatch(st, rep, now, req, keys))
    if st.overload_wait_s is not None:
        _check_overload(st, now)
    return out


def _turn_away(st: State, now: float, req: Request, keys: PromptKeys) -> list:
    """Admission control said no (no prefill instance meets the TTFT limit): hold the request at the
    router with its keys (`queue`, `waits_at_router`) or drop it."""
    if waits_at_router(st.router, st.prefill, now, req):
        st.held.append((req, keys))
        return []
    st.rejected.append(req)
    return _next(st, req, now)


def _release_held(st: State, now: float) -> list:
    """Requests held at the router, oldest first, go out while some prefill instance can meet what is
    left of their TTFT limit; one whose limit has passed is dropped."""
    out: list = []
    while st.held:
        req, keys = st.held[0]
        rep = route(st.router, st.prefill, st.arrivals, req, waited_s=now - req.arrival_s, keys=keys)
        if rep is None and within_ttft_limit(st.router, now, req):
            break
        st.held.popleft()
        out.extend(_turn_away(st, now, req, keys) if rep is None else _dispatch(st, rep, now, req, keys))
    return out


def _dispatch(st: State, rep: Replica, now: float, req: Request, keys: PromptKeys) -> list:
    """The request joins prefill instance `rep` (as a one-token request) and asks for its decode blocks."""
    out: list = []
    pre = replace(req, output_tokens=1) if req.output_tokens > 1 else req
    shared = keys.shared
    st.orig[req.rid] = req
    st.shared[req.rid] = shared
    rep.enqueue(pre, shared)
    out.extend(step_end_event(PREFILL, wake(rep, now)))
    if req.output_tokens > 1:
        out.extend(ask_blocks(st, req, now))
    return out


def _on_prefill_end(st: State, now: float, ev: PoolStepEnd) -> list:
    rep = st.prefill[ev.replica]
    if ev.token != step_token(rep):
        return []
    out: list = []
    for r in ending(rep):
        out.extend(_prefilled(st, r, now))
    out.extend(step_end_event(PREFILL, restart(rep, now)))
    if st.held:
        out.extend(_release_held(st, now))
    return out


def _prefilled(st: State, rep: Replica, now: float) -> list:
    """Apply prefill instance `rep`'s pass: a request done at its first token leaves, the others'
    KV is sent once their decode blocks are granted."""
    assert rep.step is not None
    step_start = float(rep.step.starts[-2])
    out: list = []
    b = st.b
    for s in finish_step(rep):
        req = st.orig[s.req.rid]
        if req.output_tokens == 1:  # done at its first token: nothing to send
            st.shared.pop(req.rid)
            rep.pool.release(s.blocks)
            s.set_blocks([])
            st.finished.append(s)
            out.extend(_next(st, req, now))
            continue
        res = st.reserved[req.rid]
        res.done = (s, rep.index, s.scheduled_s + (now - step_start) / b.layers, now)
        if res.granted_s >= 0:
            out.append(send(st, res))
    return out


def _on_kv_arrival(st: State, now: float, ev: KvArrive) -> list:
    f = st.flight.pop(ev.rid)
    src = st.prefill[f.src]
    src.pool.release(f.pre.blocks)  # sent: the prefill instance frees (and may cache) the prompt's blocks
    f.pre.set_blocks([])
    out = step_end_event(PREFILL, restart(src, now))
    st.inbound[f.dst] -= 1
    dec = st.decode[f.dst]
    res = st.reserved.pop(f.req.rid)
    shared = st.shared.pop(f.req.rid)
    if res.keys is None:  # the granted blocks become the request's at admission
        dec.pool.release(res.blocks)
        enqueue_preloaded(dec, f.req, f.pre.first_token_s,
                          shared if dec.pool.block_size == src.pool.block_size else None)
    else:  # decode prefix reuse: it holds them from now, its received prompt blocks cached
        s = enqueue_preloaded(dec, f.req, f.pre.first_token_s, keys=res.keys, held=res.blocks)
        full = min(f.req.input_tokens // dec.pool.block_size, res.keys.n)
        if full > res.hit:  # the received and the tier-loaded blocks
            dec.pool.publish(s.blocks, s.keys, res.hit, full)
        s.registered = max(full, res.hit)
    dec.waiting.rotate(1)  # its KV is here: first in the queue
    st.pre_seq[f.req.rid] = (f.pre, now)
    out.extend(step_end_event(DECODE, wake(dec, now)))
    return out


def _on_decode_end(st: State, now: float, ev: PoolStepEnd) -> list:
    rep = st.decode[ev.replica]
    if ev.token != step_token(rep):
        return []
    out: list = []
    for s in finish(rep):
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
    for r in members(rep):  # every rank of a lock-step group is at a scheduling point
        out.extend(grant(st, r.index, now))
    out.extend(step_end_event(DECODE, restart(rep, now)))
    return out


def _next(st: State, req: Request, now: float) -> list:
    nxt = st.workload.after_finish(req, now)
    return [] if nxt is None else [(nxt.arrival_s, Arrive(request=nxt))]


def _check_overload(st: State, now: float) -> None:
    """Overloaded when either pool's queue holds more than two full batches per instance or its head
    has waited `overload_wait_s`, and arrivals outpace the completions so far."""
    for reps, name in ((st.prefill, "prefill"), (st.decode, "decode")):
        waiting = sum(len(r.waiting) for r in reps) + (sum(map(len, st.pending)) if name == "decode" else 0)
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
    prefill, decode = make_replicas(b.prefill, hold_kv=True), make_replicas(b.decode)
    st = State(b=b, prefill=prefill, decode=decode, workload=workload, router=router or RouterConfig(),
                links=Links.of(len(prefill), len(decode)), overload_wait_s=overload_wait_s,
                inbound=[0] * len(decode), pending=[deque() for _ in decode])
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
    st.rejected.extend(req for req, _ in st.held)  # held at the router when everything else had finished
    st.held.clear()
    stuck = [(n, r) for n, reps in (("prefill", prefill), ("decode", decode)) for r in reps if r.waiting or r.running]
    stuck += [("decode", decode[j]) for j, q in enumerate(st.pending) if q]
    if stuck:
        n, r = stuck[0]
        raise CoscaleError(f"{n} instance {r.index} stopped with {len(r.waiting)} requests it can never admit; raise "
                           f"its --{n}-max-batched-tokens or give the pool more KV memory.")
    seqs = sorted(st.finished, key=lambda s: s.req.rid)
    sim = SimResult(sequences=tuple(seqs), replicas=tuple(prefill + decode), simulated_s=now,
                    wall_s=time.perf_counter() - wall0, events=q.handled, rejected=tuple(st.rejected))
    return DisaggResult(sim=sim, prefill=tuple(prefill), decode=tuple(decode), transfers=tuple(st.links.done),
                        link_busy_s=st.links.busy_s, decode_wait_s=st.decode_wait,
                        decode_reused_tokens=st.decode_reused, block_wait_s=st.block_wait,
                        occupancy_s=(st.area[PREFILL], st.area[DECODE]))
