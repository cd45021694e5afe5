"""One engine instance: its waiting queue, running batch, KV pool, and the forward passes it runs.

A step is planned at its start (admission, block allocation, preemption happen then) and applied at
its end (KV computed, tokens sampled, requests finished). A planned pure-decode step whose batch
cannot change before its first completion or KV shortage is extended into a run of `k` steps
(fast-forward); an arrival routed here during the run truncates it to the steps that had started.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from coscale.errors import CoscaleError, DoesNotFitError
from coscale.serve.cost_model import StepCostModel
from coscale.serve.kv import BlockPool
from coscale.serve.request import Request, prompt_keys
from coscale.serve.scheduler import SchedulerConfig
from coscale.serve.sequence import SeqArrays, Sequence
from coscale.serve.tiers.replica_tiers import ReplicaTiers

if TYPE_CHECKING:
    from coscale.serve.lockstep import LockStep

MAX_RUN_STEPS = 4096  # longest fast-forward run (bounds the arrays of one run)
INF = 1 << 62
INF_S = float("inf")


@dataclass(kw_only=True, slots=True)
class Step:
    slots: np.ndarray  # the batch: sequence slots in batch order
    new: np.ndarray  # tokens each computes this step
    dec: np.ndarray  # which of them decode (one token, after their first sample)
    starts: np.ndarray  # k + 1 boundaries: start of each step, end of the last
    energies: np.ndarray  # k per-step energies
    decode: bool
    kv_used: np.ndarray  # k: blocks in use during each step
    waiting: int
    prefill_tokens: int
    tokens: int  # computed this step (each of the k steps of a decode run)

    @property
    def steps(self) -> int:
        return len(self.energies)


@dataclass(kw_only=True, slots=True)
class StepLog:
    """Per forward pass, in order: start, end, sequences, tokens, prefill tokens, waiting, KV blocks, energy.
    Kept as one row per run of passes (the run's arrays and its constants), expanded by `arrays`."""

    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    consts: list[tuple[int, int, int, int]] = field(default_factory=list)

    def add(self, step: Step, k: int) -> None:
        self.rows.append((step.starts[:k + 1], step.kv_used[:k], step.energies[:k]))
        self.consts.append((len(step.slots), step.tokens, step.prefill_tokens, step.waiting))

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("start_s", "end_s", "batch_seqs", "batch_tokens", "prefill_tokens", "waiting", "kv_blocks",
                 "energy_j")
        if not self.rows:
            return {name: np.zeros(0) for name in names}
        ks = np.array([len(r[2]) for r in self.rows], dtype=np.int64)
        consts = np.array(self.consts, dtype=np.int64).reshape(-1, 4)
        out = {"start_s": np.concatenate([r[0][:-1] for r in self.rows]),
               "end_s": np.concatenate([r[0][1:] for r in self.rows])}
        for i, name in enumerate(("batch_seqs", "batch_tokens", "prefill_tokens", "waiting")):
            out[name] = np.repeat(consts[:, i], ks)
        out["kv_blocks"] = np.concatenate([r[1] for r in self.rows])
        out["energy_j"] = np.concatenate([r[2] for r in self.rows])
        return {name: out[name] for name in names}


@dataclass(kw_only=True, slots=True)
class Replica:
    index: int
    cfg: SchedulerConfig
    pool: BlockPool
    cost: StepCostModel
    fast_forward: bool = True
    hold_kv: bool = False  # keep a finished request's blocks (the owner releases them)
    waiting: deque[Sequence] = field(default_factory=deque)
    running: list[Sequence] = field(default_factory=list)
    finished: list[Sequence] = field(default_factory=list)
    tab: SeqArrays = field(default_factory=SeqArrays)
    by_slot: list[Sequence] = field(default_factory=list)
    step: Step | None = None
    token: int = 0
    admitted: int = 0
    reserved: int = 0
    preemptions: int = 0
    samples: int = 0  # tokens sampled so far
    log: StepLog = field(default_factory=StepLog)
    itl_values: list[float] = field(default_factory=list)
    itl_weights: list[int] = field(default_factory=list)
    _slots: np.ndarray | None = None  # running slots in order (None: rebuild)
    tiers: ReplicaTiers | None = None  # KV tiers below GPU memory (None: no offload)
    lockstep: LockStep | None = None  # the attention-DP group whose passes this rank joins (`serve.lockstep`)

    @property
    def load(self) -> int:
        """Requests assigned and unfinished (constant during a fast-forward run)."""
        return len(self.waiting) + len(self.running)

    def running_slots(self) -> np.ndarray:
        if self._slots is None:
            self._slots = np.fromiter((s.slot for s in self.running), dtype=np.int64, count=len(self.running))
        return self._slots

    def enqueue(self, req: Request, shared: tuple[int, ...] | None = None) -> None:
        """`shared`: the prompt's shared block hashes at this pool's block size, when the caller has them."""
        need = self.pool.blocks_for(req.input_tokens + req.output_tokens)
        if need > self.pool.num_blocks:  # fits the context, not this pool: "does not fit", exit 3
            raise DoesNotFitError(
                f"request {req.rid} ({req.input_tokens} + {req.output_tokens} tokens) needs {need} KV blocks but the "
                f"pool holds {self.pool.num_blocks}; shorten it, or give the pool more memory (more GPUs, a smaller "
                f"--kv-precision, --num-gpu-blocks).")
        whole = self.cfg.one_step_tokens(req.input_tokens, req.output_tokens)
        if not self.cfg.chunked_prefill and whole > self.cfg.max_batched_tokens and self.cfg.policy != "static":
            raise CoscaleError(
                f"request {req.rid} ({req.input_tokens} + {req.output_tokens} tokens) cannot be prefilled in one "
                f"step of --max-batched-tokens {self.cfg.max_batched_tokens} without chunked prefill; raise it, or "
                f"give --chunked-prefill.")
        slot = self.tab.add(req.input_tokens, req.output_tokens)
        s = Sequence(req=req, keys=prompt_keys(req, self.pool.block_size, shared), tab=self.tab, slot=slot)
        self.by_slot.append(s)
        self.waiting.append(s)


# ---- planning -------------------------------------------------------------------------------------

_EMPTY = np.zeros(0, dtype=np.int64)


def _reserve_blocks(rep: Replica, s: Sequence) -> int:
    return rep.pool.blocks_for(s.req.input_tokens + s.req.output_tokens)


def _admit(rep: Replica, s: Sequence, budget: int, now: float, reserve: bool) -> int:
    """Admit `s` with up to `budget` new tokens; 0 when it does not fit (nothing changed then)."""
    pool = rep.pool
    bs = pool.block_size
    known = s.known
    pre = s.preloaded  # KV that arrived from another instance (disaggregated decode)
    limit = (known - 1) // bs
    hit = pool.prompt_hit(s.keys, limit) if rep.cfg.prefix_caching and not pre else []
    tiers = rep.tiers if rep.cfg.prefix_caching and not pre else None
    loaded = tiers.plan_load(s.keys, len(hit), limit, lambda m: tiers.recompute_s(rep.cost, len(hit) * bs, m * bs)) \
        if tiers is not None else 0
    cached = pre or (len(hit) + loaded) * bs
    new = known - cached
    if new > budget:
        if not rep.cfg.chunked_prefill:
            return 0
        new = budget
    held = s.blocks if pre else []  # blocks a transferred-in request holds already (its reused prefix)
    need = pool.blocks_for(cached + new) - len(hit) - len(held)
    if need + pool.unreferenced(hit) > pool.free:
        return 0
    if reserve:
        total = _reserve_blocks(rep, s)
        if rep.reserved + total > pool.num_blocks:
            return 0
        rep.reserved += total
        s.reserved = total
    pool.take(hit)
    if tiers is not None:
        tiers.commit_load(len(hit), known)  # loaded blocks leave their tier before allocation evicts into it
    s.set_blocks(hit + held + pool.allocate(need))
    if loaded:
        pool.publish(s.blocks, s.keys, len(hit), len(hit) + loaded)
    if not pre:
        s.registered = len(hit) + loaded
    s.computed = cached
    if s.order < 0:
        s.hit_tokens = (len(hit) + loaded) * bs  # transferred KV (disaggregated decode) is not a hit
    else:
        s.rehit_tokens += cached
    s.order = rep.admitted
    rep.admitted += 1
    if s.scheduled_s < 0:
        s.scheduled_s = now
    return new


def _victim(rep: Replica, first: int) -> Sequence:
    """The request to preempt among running[first:] in the engine's order."""
    cands = rep.running[first:]
    if rep.cfg.victim == "newest":
        return cands[-1]
    return min(cands, key=lambda s: (s.generated, -s.req.input_tokens, -s.order))


def _preempt(rep: Replica, s: Sequence) -> None:
    rep.running.remove(s)
    rep._slots = None
    rep.pool.release(s.blocks)
    s.discarded += s.computed
    s.preloaded = 0  # a preempted request is recomputed here
    s.set_blocks([])
    s.registered = 0
    s.computed = 0
    s.preemptions += 1
    rep.preemptions += 1
    rep.reserved -= s.reserved
    s.reserved = 0
    rep.waiting.appendleft(s)


def _grow(rep: Replica, budget: int, decoding_only: bool | None = None) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Running requests (all, or only decoding / only prefilling ones) in admission order under the
    token budget, preempting when KV runs out: (slots, new tokens, budget left, preempted)."""
    running = rep.running
    if not running or budget <= 0:
        return _EMPTY, _EMPTY, budget, False
    tab, pool = rep.tab, rep.pool
    bs = pool.block_size
    slots = rep.running_slots()
    comp = tab.computed[slots]
    todo = tab.known[slots] - comp
    if decoding_only is None:
        t = todo
    else:
        dec = (todo == 1) & (tab.generated[slots] >= 1)
        t = np.where(dec if decoding_only else ~dec, todo, 0)
    before = np.cumsum(t) - t
    new = np.minimum(np.maximum(budget - before, 0), t)
    take = new > 0
    need = np.where(take, -(-(comp + new) // bs) - tab.nblocks[slots], 0)
    total = int(need.sum())
    if total <= pool.free:  # no request runs out of blocks: allocate in batch order
        if total:
            _hand_out(running, slots, need, pool.allocate(total), tab)
        idx = np.flatnonzero(take)
        return slots[idx], new[idx], budget - int(new.sum()), False
    return _grow_preempting(rep, budget, decoding_only)


def _hand_out(running: list[Sequence], slots: np.ndarray, need: np.ndarray, fresh: list[int], tab: SeqArrays) -> None:
    """Give `fresh` blocks to the running requests in batch order, `need[i]` each."""
    idx = np.flatnonzero(need > 0)
    m = need[idx]
    tab.nblocks[slots[idx]] += m
    if len(fresh) == len(idx):  # one block each: the common decode case
        for i, b in zip(idx.tolist(), fresh, strict=True):
            running[i].blocks.append(b)
        return
    at = 0
    for i, k in zip(idx.tolist(), m.tolist(), strict=True):
        running[i].blocks.extend(fresh[at:at + k])
        at += k


def _grow_preempting(rep: Replica, budget: int, decoding_only: bool | None) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """The same pass one request at a time, preempting victims when the pool runs dry."""
    out_slots: list[int] = []
    out_new: list[int] = []
    preempted = False
    pool, tab = rep.pool, rep.tab
    bs = pool.block_size
    running = rep.running
    slots = rep.running_slots()
    # the counters as plain ints, read once (a victim's are not needed after it leaves)
    state = dict(zip(slots.tolist(), zip(tab.known[slots].tolist(), tab.computed[slots].tolist(),
                                         tab.generated[slots].tolist(), strict=True), strict=True))
    i = 0
    while i < len(running) and budget > 0:
        s = running[i]
        known, computed, generated = state[s.slot]
        todo = known - computed
        if decoding_only is not None and decoding_only != (todo == 1 and generated >= 1):
            i += 1
            continue
        new = todo if todo < budget else budget
        need = -(-(computed + new) // bs) - len(s.blocks)
        if need > 0:
            lost = False
            while need > pool.free:
                v = _victim(rep, i)
                _preempt(rep, v)
                preempted = True
                if v is s:
                    lost = True
                    break
            if lost:
                continue
            s.add_blocks(pool.allocate(need))
        out_slots.append(s.slot)
        out_new.append(new)
        budget -= new
        i += 1
    return np.array(out_slots, dtype=np.int64), np.array(out_new, dtype=np.int64), budget, preempted


def _admit_waiting(rep: Replica, budget: int, now: float, reserve: bool) -> tuple[list[int], list[int], int]:
    slots: list[int] = []
    news: list[int] = []
    while rep.waiting and budget > 0 and len(rep.running) < rep.cfg.max_num_seqs:
        s = rep.waiting[0]
        new = _admit(rep, s, budget, now, reserve)
        if not new:
            break
        rep.waiting.popleft()
        rep.running.append(s)
        slots.append(s.slot)
        news.append(new)
        budget -= new
    if slots and rep._slots is not None:
        rep._slots = np.concatenate([rep._slots, np.array(slots, dtype=np.int64)])
    return slots, news, budget


def _join(a: np.ndarray, b: np.ndarray, slots: list[int], news: list[int]) -> tuple[np.ndarray, np.ndarray]:
    if not slots:
        return a, b
    return (np.concatenate([a, np.array(slots, dtype=np.int64)]), np.concatenate([b, np.array(news, dtype=np.int64)]))


def _plan(rep: Replica, now: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """The batch of the next forward pass (slots, new tokens) and whether planning it preempted."""
    cfg = rep.cfg
    if cfg.policy == "decode_first":
        slots, new, budget, preempted = _grow(rep, cfg.max_batched_tokens)
        if not preempted:
            s2, n2, _ = _admit_waiting(rep, budget, now, cfg.reserve_full)
            slots, new = _join(slots, new, s2, n2)
        return slots, new, preempted
    if cfg.policy == "prefill_first":
        slots, new, budget, _ = _grow(rep, cfg.max_batched_tokens, decoding_only=False)
        s2, n2, _ = _admit_waiting(rep, budget, now, cfg.reserve_full)
        slots, new = _join(slots, new, s2, n2)
        if len(slots):
            return slots, new, False
        slots, new, _, preempted = _grow(rep, INF, decoding_only=True)
        return slots, new, preempted
    # static: a new batch only when the instance is empty; whole prompts, whole-request reservation
    if not rep.running:
        s2, n2, _ = _admit_waiting(rep, INF, now, reserve=True)
        slots, new = _join(_EMPTY, _EMPTY, s2, n2)
        return slots, new, False
    slots, new, _, preempted = _grow(rep, INF)
    return slots, new, preempted


# ---- starting a step ------------------------------------------------------------------------------


Planned = tuple[np.ndarray, np.ndarray, bool]  # the next pass's batch: slots, new tokens, whether it preempted


def plan_step(rep: Replica, now: float) -> Planned | None:
    """Plan the next forward pass (admission, block allocation, preemption happen now); None when idle."""
    planned = _plan(rep, now)
    if not len(planned[0]):
        rep.step = None
        return None
    return planned


def _decoding(rep: Replica, slots: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(cached tokens, which of the batch decode, whether all of it does) of a planned batch."""
    tab = rep.tab
    comp = tab.computed[slots]
    dec = (new == 1) & (tab.known[slots] - comp == 1) & (tab.generated[slots] >= 1)
    return comp, dec, bool(dec.all())


def _runs(rep: Replica, slots: np.ndarray, preempted: bool) -> bool:
    """A pure-decode batch may run several steps: fast-forward on, no preemption, every running request in it."""
    return rep.fast_forward and not preempted and len(slots) == len(rep.running)


def run_bound(rep: Replica, planned: Planned) -> int:
    """Steps `start_step` would run this planned batch for with no arrival known to cut it."""
    slots, new, preempted = planned
    comp, _, decode = _decoding(rep, slots, new)
    return _run_length(rep, slots, comp) if decode and _runs(rep, slots, preempted) else 1


def start_step(rep: Replica, now: float, horizon: float = float("inf"), planned: Planned | None = None,
               group_tokens: float | None = None, max_steps: int = MAX_RUN_STEPS) -> float | None:
    """Plan (unless `planned` is given) and cost the next forward pass (or run of passes); its end time,
    or None when idle. A decode run keeps only the steps that start before `horizon` (the next arrival
    the caller knows of, which would truncate it there), so no step past it is costed, and at most
    `max_steps` of them. `group_tokens`: the tokens of this attention-DP rank's whole lock-step group
    in the pass (its experts serve them all; `serve.lockstep`)."""
    if planned is None:
        planned = plan_step(rep, now)
        if planned is None:
            return None
    slots, new, preempted = planned
    comp, dec, decode = _decoding(rep, slots, new)
    overhead = rep.cfg.host_overhead_s
    tier_wait = rep.tiers.settle(rep.pool) if rep.tiers is not None else 0.0
    k = 1
    if decode:
        run = _runs(rep, slots, preempted)
        if run and horizon == INF_S:  # no arrival known to cut the run: cost its k steps in one call
            k = min(_run_length(rep, slots, comp), max_steps)
            times, energies = _decode_costs(rep, comp, k, group_tokens)
            durations = times + overhead
        else:
            times, energies = _decode_costs(rep, comp, 1, group_tokens)
            durations = times + overhead
            if run and now + durations[0] < horizon:
                k = _run_length(rep, slots, comp)
                if k > 1:
                    durations, energies = _run_costs(rep, comp, now, durations, energies, k, horizon)
                    k = len(durations)
        prefill_tokens = 0
    else:
        pre_new, pre_prefix = new[~dec], comp[~dec]
        t, e = rep.cost.step(comp[dec], pre_new, pre_prefix) if group_tokens is None else \
            rep.cost.step(comp[dec], pre_new, pre_prefix, group_tokens)
        durations = np.array([t + overhead])
        energies = np.array([e])
        prefill_tokens = int(pre_new.sum())
    if tier_wait:
        durations[0] += tier_wait  # the GPU waits for the step's KV loads and stores
    starts = np.cumsum(np.concatenate(([now], durations)))
    kv_used = np.full(k, rep.pool.used, dtype=np.int64)
    if k > 1:
        kv_used += np.cumsum(_allocs_per_step(comp, k, rep.pool.block_size))
    rep.step = Step(slots=slots, new=new, dec=dec, starts=starts, energies=energies, decode=decode, kv_used=kv_used,
                    waiting=len(rep.waiting), prefill_tokens=prefill_tokens, tokens=int(new.sum()))
    rep.token += 1
    return float(starts[-1])


def _decode_costs(rep: Replica, comp: np.ndarray, k: int, group_tokens: float | None) -> tuple[np.ndarray, np.ndarray]:
    """`decode_run` of the cost model, with the lock-step group's tokens when there are some."""
    return rep.cost.decode_run(comp, k) if group_tokens is None else rep.cost.decode_run(comp, k, group_tokens)


def _run_costs(rep: Replica, comp: np.ndarray, now: float, durations: np.ndarray, energies: np.ndarray, k: int,
               horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Durations and energies of the steps of a decode run of at most `k` steps (the first one given)
    that start before `horizon` (at least one), costed in growing pieces so that a near horizon costs
    few steps. Step j of `decode_run(c, m)` equals step 0 of `decode_run(c + j, 1)` (the cost model's
    contract), so the pieces are the values one call for all k steps would give."""
    overhead = rep.cfg.host_overhead_s
    ds, es = [durations], [energies]
    got = 1
    end = now + float(durations[0])
    while got < k and end < horizon:
        if horizon == float("inf"):
            m = k - got
        else:  # the steps up to the horizon at the last step's pace, and a margin
            m = min(k - got, int((horizon - end) / float(ds[-1][-1])) + 2)
        t, e = rep.cost.decode_run(comp + got, m)
        d = t + overhead
        ds.append(d)
        es.append(e)
        got += m
        end = float(np.cumsum(np.concatenate(([end], d)))[-1])
    d, e = np.concatenate(ds), np.concatenate(es)
    if end >= horizon:  # keep the steps that start before the horizon (as an arrival there truncates)
        starts = np.cumsum(np.concatenate(([now], d)))
        m = max(int(np.searchsorted(starts[:-1], horizon, side="left")), 1)
        d, e = d[:m], e[:m]
    return d, e


def _allocs_per_step(comp: np.ndarray, k: int, bs: int) -> np.ndarray:
    """New blocks each step of a decode run needs (step 0 was allocated when planned): a sequence
    with c cached tokens crosses a block boundary at steps j >= 1 with (c + j) % bs == 0."""
    hist = np.bincount((-comp) % bs, minlength=bs)
    counts = hist[np.arange(k) % bs]
    counts[0] = 0
    return counts


def _run_length(rep: Replica, slots: np.ndarray, comp: np.ndarray) -> int:
    """Steps the decode batch runs unchanged: up to and including the first completion, and before
    the first step whose block growth exceeds the free pool (where a step-by-step run would preempt)."""
    tab = rep.tab
    k = min(int((tab.out[slots] - tab.generated[slots]).min()), MAX_RUN_STEPS)
    if k <= 1:
        return 1
    need = np.cumsum(_allocs_per_step(comp, k, rep.pool.block_size))
    over = np.flatnonzero(need > rep.pool.free)
    if over.size:
        k = int(over[0])
    return max(k, 1)


def truncate(rep: Replica, t: float) -> float | None:
    """An arrival at `t` reached this replica during a run: keep the steps that started before it
    (at least the first), and return the new end time; None when the run is unchanged."""
    step = rep.step
    if step is None or step.steps == 1:
        return None
    m = max(int(np.searchsorted(step.starts[:-1], t, side="left")), 1)
    if m >= step.steps:
        return None
    step.starts = step.starts[:m + 1]
    step.energies = step.energies[:m]
    step.kv_used = step.kv_used[:m]
    rep.token += 1
    return float(step.starts[-1])


# ---- ending a step --------------------------------------------------------------------------------


def finish_step(rep: Replica) -> list[Sequence]:
    """Apply the planned step(s): KV computed, tokens sampled, finished requests leave; returns them."""
    step = rep.step
    assert step is not None
    rep.step = None
    k = step.steps
    rep.log.add(step, k)
    if k > 1:
        _commit_run(rep, step, k)
    pool, bs, tab = rep.pool, rep.pool.block_size, rep.tab
    now = float(step.starts[-1])
    start = float(step.starts[-2])
    slots, new = step.slots, step.new
    by_slot = rep.by_slot
    if step.decode:  # every sequence computes its one known token and samples the next
        tab.decoded[slots] += 1
        tab.computed[slots] += 1
        sl = slots
    else:
        dec = step.dec
        tab.decoded[slots[dec]] += 1
        comp = tab.computed[slots] + new
        tab.computed[slots] = comp
        pre = np.flatnonzero(~dec)
        for slot, n_new, c in zip(slots[pre].tolist(), new[pre].tolist(), comp[pre].tolist(), strict=True):
            s = by_slot[slot]  # a prefill chunk: count it, publish newly full prompt blocks
            s.prefilled += n_new
            full = min(c // bs, s.keys.n)
            if full > s.registered:
                pool.publish(s.blocks, s.keys, s.registered, full)
                s.registered = full
        sl = slots[comp == tab.known[slots]]  # caught up: sample a token
    done: list[Sequence] = []
    if len(sl):
        tab.generated[sl] += 1
        tab.known[sl] += 1
        rep.samples += len(sl)
        last = tab.last[sl]
        first = tab.first[sl] < 0
        same = last == start
        other = ~same & ~first
        if first.any():
            tab.first[sl[first]] = now
        if other.any():
            gaps = (now - last[other]).tolist()
            rep.itl_values.extend(gaps)
            rep.itl_weights.extend([1] * len(gaps))
        nsame = int(same.sum())
        if nsame:
            rep.itl_values.append(now - start)
            rep.itl_weights.append(nsame)
        tab.last[sl] = now
        for slot in sl[tab.generated[sl] == tab.out[sl]].tolist():
            s = by_slot[slot]
            s.finish_s = now
            if rep.tiers is not None and rep.tiers.cfg.keep == "prompt+decode":
                rep.tiers.publish_decode(pool, s.req, s.blocks, s.computed)
            if not rep.hold_kv:  # a prefill instance keeps the KV until it has been sent
                pool.release(s.blocks)
                s.set_blocks([])
            rep.reserved -= s.reserved
            rep.finished.append(s)
            done.append(s)
    if done:
        for s in done:
            rep.running.remove(s)  # identity scans in C: a few per step
        if rep._slots is not None:
            rep._slots = rep._slots[tab.generated[rep._slots] < tab.out[rep._slots]]
    return done


def _commit_run(rep: Replica, step: Step, k: int) -> None:
    """Apply the first k - 1 steps of a decode run exactly as k - 1 single steps would, leaving the
    last one to `finish_step`."""
    pool, bs, tab = rep.pool, rep.pool.block_size, rep.tab
    starts = step.starts
    slots = step.slots
    comp = tab.computed[slots]
    # blocks the steps 1..k-1 allocate, in the order single steps would: by step, then batch order
    # (consecutive allocations with nothing freed between them are one allocation, split in order)
    residue = (-comp) % bs
    order = np.argsort(residue, kind="stable")
    bounds = np.searchsorted(residue[order], np.arange(bs + 1))
    members = [order[bounds[r]:bounds[r + 1]] for r in range(bs)]
    parts = [members[j % bs] for j in range(1, min(k, bs + 1))]
    if k - 1 > bs:  # the pattern repeats every bs steps
        cycle = np.concatenate([members[j % bs] for j in range(1, bs + 1)])
        reps, rest = divmod(k - 1, bs)
        parts = [np.tile(cycle, reps)] + [members[j % bs] for j in range(1, rest + 1)]
    idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if len(idx):
        blocks = pool.allocate(len(idx))
        by_slot, owner = rep.by_slot, slots[idx].tolist()
        for slot, b in zip(owner, blocks, strict=True):
            by_slot[slot].blocks.append(b)
        tab.nblocks[slots] += np.bincount(idx, minlength=len(slots))
    s0, first_end = float(starts[0]), float(starts[1])
    last = tab.last[slots]
    same = last == s0
    if not same.all():
        gaps = (first_end - last[~same]).tolist()
        rep.itl_values.extend(gaps)
        rep.itl_weights.extend([1] * len(gaps))
    n = len(slots)
    nsame = int(same.sum())
    if nsame:
        rep.itl_values.append(first_end - s0)
        rep.itl_weights.append(nsame)
    if k > 2:
        rep.itl_values.extend((starts[2:k] - starts[1:k - 1]).tolist())
        rep.itl_weights.extend([n] * (k - 2))
    tab.computed[slots] += k - 1
    tab.known[slots] += k - 1
    tab.generated[slots] += k - 1
    tab.decoded[slots] += k - 1
    tab.last[slots] = float(starts[k - 1])
    rep.samples += n * (k - 1)
    step.starts = starts[k - 1:]
