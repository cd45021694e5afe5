"""The discrete-event loop: arrivals are routed to replicas, each replica runs forward passes back to
back while it has work. Handlers are plain functions of (state, time, event) returning new events."""

from __future__ import annotations

import bisect
import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.events import Arrival, Event, EventQueue, StepEnd
from coscale.serve.lockstep import finish, restart, step_token, wake
from coscale.serve.records import RequestArrays
from coscale.serve.replica import Replica
from coscale.serve.request import Request, prompt_keys
from coscale.serve.router import PREFIX_ROUTERS, RouterConfig, route, waits_at_router, within_ttft_limit
from coscale.serve.sequence import Sequence
from coscale.serve.workload import Workload

INF_S = float("inf")


class Overloaded(CoscaleError):
    """Arrivals outpace the deployment; `capacity_rps` is the completion rate measured while saturated."""

    def __init__(self, message: str, capacity_rps: float) -> None:
        super().__init__(message)
        self.capacity_rps = capacity_rps


@dataclass(kw_only=True, slots=True)
class SimState:
    replicas: list[Replica]
    workload: Workload
    router: RouterConfig
    overload_wait_s: float | None
    capacity_probe: Callable[[], float] | None = None
    arrivals: int = 0
    output_tokens: int = 0  # of the requests arrived so far
    finish_times: list[float] = field(default_factory=list)
    sample_history: list[tuple[float, int]] = field(default_factory=list)
    held: deque[Request] = field(default_factory=deque)  # admission control `queue`: waiting at the router
    rejected: list[Request] = field(default_factory=list)  # admission control turned these away
    pending: list[float] = field(default_factory=list)  # min-heap of the scheduled arrivals' times

    def horizon(self, rep: Replica) -> float:
        """When the next arrival reaches `rep`, where the router's choice is known in advance (one
        replica, or round-robin): a decode run planned now needs no step starting at or after it.
        Otherwise infinity (the arrival truncates the run when it gets there)."""
        if not self.pending:
            return INF_S
        n = len(self.replicas)
        if n == 1 or (self.router.policy == "round_robin" and self.replicas[self.arrivals % n] is rep):
            return self.pending[0]
        return INF_S

    def arrival(self, out: list[tuple[float, Event]], req: Request) -> None:
        """Schedule `req`'s arrival (known to the horizon at once, before the handler returns)."""
        heapq.heappush(self.pending, req.arrival_s)
        out.append((req.arrival_s, Arrival(request=req)))


@dataclass(frozen=True, kw_only=True, slots=True)
class SimResult:
    sequences: tuple[Sequence, ...]  # finished requests in request-id order
    replicas: tuple[Replica, ...]
    simulated_s: float
    wall_s: float
    events: int
    rejected: tuple[Request, ...] = ()  # turned away by admission control, in arrival order
    records: RequestArrays | None = None  # the per-request results as arrays (the compiled engine gives them)
    engine: str = "python"  # which engine ran: python, or compiled (`coscale.serve.compiled`)


def on_arrival(st: SimState, now: float, ev: Arrival) -> list[tuple[float, Event]]:
    out: list[tuple[float, Event]] = []
    if st.pending and st.pending[0] <= now:  # this arrival's own time (an arrival pushed without
        heapq.heappop(st.pending)             # `SimState.arrival` was never counted: runs ignore it)
    nxt = st.workload.after_arrival(ev.request)
    if nxt is not None:
        st.arrival(out, nxt)
    req = ev.request
    # a prefix-reading router hashes the prompt: the replica's queue reuses those hashes
    keys = prompt_keys(req, st.replicas[0].pool.block_size) \
        if req.prefix_hashes and st.router.policy in PREFIX_ROUTERS else None
    rep = route(st.router, st.replicas, st.arrivals, req, keys=keys)
    st.arrivals += 1
    st.output_tokens += req.output_tokens
    if rep is None:
        out += _turn_away(st, now, req)
    else:
        out += _dispatch(st, rep, now, req, None if keys is None else keys.shared)
    if st.overload_wait_s is not None:
        _check_overload(st, now)
    return out


def _dispatch(st: SimState, rep: Replica, now: float, req: Request,
              shared: tuple[int, ...] | None = None) -> list[tuple[float, Event]]:
    rep.enqueue(req, shared)
    return _step_end(wake(rep, now, st.horizon(rep)))


def _step_end(woken: tuple[int, int, float] | None) -> list[tuple[float, Event]]:
    """The step-end event of a pass that `lockstep.wake` / `restart` started or cut (none: unchanged)."""
    return [] if woken is None else [(woken[2], StepEnd(replica=woken[0], token=woken[1]))]


def _turn_away(st: SimState, now: float, req: Request) -> list[tuple[float, Event]]:
    """Admission control said no: hold the request at the router (`queue`) or drop it (a closed-loop
    client then sends its next request)."""
    if waits_at_router(st.router, st.replicas, now, req):
        st.held.append(req)
        return []
    st.rejected.append(req)
    out: list[tuple[float, Event]] = []
    nxt = st.workload.after_finish(req, now)
    if nxt is not None:
        st.arrival(out, nxt)
    return out


def _release_held(st: SimState, now: float) -> list[tuple[float, Event]]:
    """Requests held at the router, oldest first, go out while some replica can meet what is left of
    their TTFT limit; one whose limit has passed is dropped."""
    out: list[tuple[float, Event]] = []
    while st.held:
        req = st.held[0]
        rep = route(st.router, st.replicas, st.arrivals, req, waited_s=now - req.arrival_s)
        if rep is None:
            if within_ttft_limit(st.router, now, req):
                break
            st.held.popleft()
            out += _turn_away(st, now, req)
            continue
        st.held.popleft()
        out += _dispatch(st, rep, now, req)
    return out


def on_step_end(st: SimState, now: float, ev: StepEnd) -> list[tuple[float, Event]]:
    rep = st.replicas[ev.replica]
    if ev.token != step_token(rep):
        return []  # a run that an arrival truncated
    out: list[tuple[float, Event]] = []
    for s in finish(rep):
        st.finish_times.append(now)
        nxt = st.workload.after_finish(s.req, now)
        if nxt is not None:
            st.arrival(out, nxt)
    out += _step_end(restart(rep, now, st.horizon(rep)))
    if st.held:
        out += _release_held(st, now)
    return out


def _check_overload(st: SimState, now: float) -> None:
    """Overloaded when the queue holds more than two full batches of every replica, or its head has
    waited `overload_wait_s`, and the arrival rate exceeds the capacity: the request rate
    `capacity_probe` measures on a saturated deployment (else the token sampling rate over the second
    half of the run so far divided by the mean output length)."""
    samples = sum(r.samples for r in st.replicas)
    st.sample_history.append((now, samples))
    waiting = sum(len(r.waiting) for r in st.replicas)
    limit = 2 * sum(r.cfg.max_num_seqs for r in st.replicas)
    waits = [now - r.waiting[0].req.arrival_s for r in st.replicas if r.waiting]
    if waiting <= limit and (not waits or max(waits) <= st.overload_wait_s):
        return
    if st.capacity_probe is not None:
        capacity = st.capacity_probe()
        rate = st.workload.mean_rate
        if rate is not None and rate <= capacity:
            st.overload_wait_s = None  # a burst, not an overload: let the run finish
            return
    else:
        times = [t for t, _ in st.sample_history]
        i = bisect.bisect_left(times, now / 2)
        t0, s0 = st.sample_history[min(i, len(times) - 1)]
        span = now - t0
        capacity = (samples - s0) / span / (st.output_tokens / st.arrivals) if span > 0 else 0.0
    raise Overloaded(
        f"overloaded: {waiting} requests queued at t = {now:.0f} s and growing; this deployment completes about "
        f"{capacity:.3g} requests/s when saturated, so lower --rate below that (or add GPUs).", capacity)


def simulate(replicas: list[Replica], workload: Workload, router: RouterConfig | None = None,
             overload_wait_s: float | None = None, capacity_probe: Callable[[], float] | None = None,
             progress: Callable[[int, int], None] | None = None) -> SimResult:
    """Run until every request of the workload has finished."""
    st = SimState(replicas=replicas, workload=workload, router=router or RouterConfig(),
                  overload_wait_s=overload_wait_s, capacity_probe=capacity_probe)
    q = EventQueue()
    first: list[tuple[float, Event]] = []
    for req in workload.initial():
        st.arrival(first, req)
    for t, e in first:
        q.push(t, e)
    wall0 = time.perf_counter()
    now = 0.0
    total = workload.total
    while len(q):
        now, ev = q.pop()
        new = on_arrival(st, now, ev) if isinstance(ev, Arrival) else on_step_end(st, now, ev)
        for t, e in new:
            q.push(t, e)
        if progress is not None and q.handled % 4096 == 0:
            progress(len(st.finish_times), total)
    if progress is not None:
        progress(len(st.finish_times), total)
    st.rejected.extend(st.held)  # held at the router when everything else had finished
    st.held.clear()
    stuck = [r for r in replicas if r.waiting or r.running]
    if stuck:
        raise CoscaleError(f"replica {stuck[0].index} stopped with {len(stuck[0].waiting)} requests it can never "
                           f"admit; raise --max-batched-tokens or the KV pool (--num-gpu-blocks).")
    seqs = sorted((s for r in replicas for s in r.finished), key=lambda s: s.req.rid)
    return SimResult(sequences=tuple(seqs), replicas=tuple(replicas), simulated_s=now,
                     wall_s=time.perf_counter() - wall0, events=q.handled, rejected=tuple(st.rejected))


def requests_of(result: SimResult) -> list[Request]:
    return [s.req for s in result.sequences]


def itl_samples(result: SimResult) -> tuple[np.ndarray, np.ndarray]:
    """(values, weights) of every inter-token gap, all replicas."""
    vals = np.concatenate([np.asarray(r.itl_values, dtype=float) for r in result.replicas])
    wts = np.concatenate([np.asarray(r.itl_weights, dtype=float) for r in result.replicas])
    return vals, wts
