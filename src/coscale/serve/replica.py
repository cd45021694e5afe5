"""One engine instance: its waiting queue, running batch, KV pool, and the forward passes it runs.

A step is planned at its start (admission, block allocation, preemption happen then) and applied at
its end (KV computed, tokens sampled, requests finished). A planned pure-decode step whose batch
cannot change before its first completion or KV shortage is extended into a run of `k` steps
(fast-forward); an arrival routed here during the run truncates it to the steps that had started.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.cost_model import StepCostModel
from coscale.serve.kv import BlockPool
from coscale.serve.request import Request, block_hashes
from coscale.serve.scheduler import SchedulerConfig
from coscale.serve.sequence import Sequence

MAX_RUN_STEPS = 4096  # longest fast-forward run (bounds the arrays of one run)
INF = 1 << 62


@dataclass(kw_only=True, slots=True)
class Step:
    items: list[tuple[Sequence, int]]  # (sequence, tokens computed this step)
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
    """Per forward pass, in order: start, end, sequences, tokens, prefill tokens, waiting, KV blocks, energy."""

    rows: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(self, step: Step, k: int) -> None:
        n = len(step.items)
        tokens = step.tokens
        self.rows.append((step.starts[:k], step.starts[1:k + 1], np.full(k, n), np.full(k, tokens),
                          np.full(k, step.prefill_tokens), np.full(k, step.waiting), step.kv_used[:k],
                          step.energies[:k]))

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("start_s", "end_s", "batch_seqs", "batch_tokens", "prefill_tokens", "waiting", "kv_blocks",
                 "energy_j")
        if not self.rows:
            return {name: np.zeros(0) for name in names}
        return {name: np.concatenate([r[i] for r in self.rows]) for i, name in enumerate(names)}


@dataclass(kw_only=True, slots=True)
class Replica:
    index: int
    cfg: SchedulerConfig
    pool: BlockPool
    cost: StepCostModel
    fast_forward: bool = True
    waiting: deque[Sequence] = field(default_factory=deque)
    running: list[Sequence] = field(default_factory=list)
    finished: list[Sequence] = field(default_factory=list)
    step: Step | None = None
    token: int = 0
    admitted: int = 0
    reserved: int = 0
    preemptions: int = 0
    samples: int = 0  # tokens sampled so far
    log: StepLog = field(default_factory=StepLog)
    itl_values: list[float] = field(default_factory=list)
    itl_weights: list[int] = field(default_factory=list)

    @property
    def load(self) -> int:
        """Requests assigned and unfinished (constant during a fast-forward run)."""
        return len(self.waiting) + len(self.running)

    def enqueue(self, req: Request) -> None:
        need = self.pool.blocks_for(req.input_tokens + req.output_tokens)
        if need > self.pool.num_blocks:
            raise CoscaleError(
                f"request {req.rid} ({req.input_tokens} + {req.output_tokens} tokens) needs {need} KV blocks but the "
                f"pool holds {self.pool.num_blocks}; shorten it, or give the pool more memory (more GPUs, a smaller "
                f"--kv-precision, --num-gpu-blocks).")
        if not self.cfg.chunked_prefill and req.input_tokens + req.output_tokens > self.cfg.max_batched_tokens \
                and self.cfg.policy != "static":
            raise CoscaleError(
                f"request {req.rid} ({req.input_tokens} + {req.output_tokens} tokens) cannot be prefilled in one "
                f"step of --max-batched-tokens {self.cfg.max_batched_tokens} without chunked prefill; raise it.")
        self.waiting.append(Sequence(req=req, hashes=block_hashes(req, self.pool.block_size), known=req.input_tokens))


# ---- planning -------------------------------------------------------------------------------------


def _reserve_blocks(rep: Replica, s: Sequence) -> int:
    return rep.pool.blocks_for(s.req.input_tokens + s.req.output_tokens)


def _admit(rep: Replica, s: Sequence, budget: int, now: float, reserve: bool) -> int:
    """Admit `s` with up to `budget` new tokens; 0 when it does not fit (nothing changed then)."""
    pool = rep.pool
    bs = pool.block_size
    hit = pool.longest_hit(s.hashes, (s.known - 1) // bs) if rep.cfg.prefix_caching else []
    cached = len(hit) * bs
    new = s.known - cached
    if new > budget:
        if not rep.cfg.chunked_prefill:
            return 0
        new = budget
    need = pool.blocks_for(cached + new) - len(hit)
    if need + pool.unreferenced(hit) > pool.free:
        return 0
    if reserve:
        total = _reserve_blocks(rep, s)
        if rep.reserved + total > pool.num_blocks:
            return 0
        rep.reserved += total
        s.reserved = total
    pool.take(hit)
    s.blocks = hit + pool.allocate(need)
    s.registered = len(hit)
    s.computed = cached
    if s.order < 0:
        s.hit_tokens = cached
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
    rep.pool.release(s.blocks)
    s.discarded += s.computed
    s.blocks = []
    s.registered = 0
    s.computed = 0
    s.preemptions += 1
    rep.preemptions += 1
    rep.reserved -= s.reserved
    s.reserved = 0
    rep.waiting.appendleft(s)


def _grow(rep: Replica, budget: int, decoding_only: bool | None = None) -> tuple[list[tuple[Sequence, int]], int, bool]:
    """Running requests (all, or only decoding / only prefilling ones) in admission order under the
    token budget, preempting when KV runs out."""
    items: list[tuple[Sequence, int]] = []
    preempted = False
    pool = rep.pool
    bs = pool.block_size
    running = rep.running
    i = 0
    while i < len(running) and budget > 0:
        s = running[i]
        todo = s.known - s.computed
        if decoding_only is not None and decoding_only != (todo == 1 and s.generated >= 1):
            i += 1
            continue
        new = todo if todo < budget else budget
        need = -(-(s.computed + new) // bs) - len(s.blocks)
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
            s.blocks += pool.allocate(need)
        items.append((s, new))
        budget -= new
        i += 1
    return items, budget, preempted


def _admit_waiting(rep: Replica, items: list, budget: int, now: float, reserve: bool) -> int:
    while rep.waiting and budget > 0 and len(rep.running) < rep.cfg.max_num_seqs:
        s = rep.waiting[0]
        new = _admit(rep, s, budget, now, reserve)
        if not new:
            break
        rep.waiting.popleft()
        rep.running.append(s)
        items.append((s, new))
        budget -= new
    return budget


def _plan(rep: Replica, now: float) -> tuple[list[tuple[Sequence, int]], bool]:
    """The batch of the next forward pass and whether anything was preempted planning it."""
    cfg = rep.cfg
    if cfg.policy == "decode_first":
        items, budget, preempted = _grow(rep, cfg.max_batched_tokens)
        if not preempted:
            _admit_waiting(rep, items, budget, now, cfg.reserve_full)
        return items, preempted
    if cfg.policy == "prefill_first":
        items, budget, _ = _grow(rep, cfg.max_batched_tokens, decoding_only=False)
        _admit_waiting(rep, items, budget, now, cfg.reserve_full)
        if items:
            return items, False
        items, _, preempted = _grow(rep, INF, decoding_only=True)
        return items, preempted
    # static: a new batch only when the instance is empty; whole prompts, whole-request reservation
    items = []
    if not rep.running:
        _admit_waiting(rep, items, INF, now, reserve=True)
        return items, False
    items, _, preempted = _grow(rep, INF)
    return items, preempted


# ---- starting a step ------------------------------------------------------------------------------


def start_step(rep: Replica, now: float) -> float | None:
    """Plan and cost the next forward pass (or run of passes); its end time, or None when idle."""
    items, preempted = _plan(rep, now)
    if not items:
        rep.step = None
        return None
    tokens = 0
    decode = True
    for s, new in items:
        tokens += new
        if decode and not (new == 1 and s.generated >= 1 and s.known - s.computed == 1):
            decode = False
    overhead = rep.cfg.host_overhead_s
    k = 1
    if decode:
        ctx = np.fromiter((s.computed for s, _ in items), dtype=np.int64, count=len(items))
        if rep.fast_forward and not preempted and len(items) == len(rep.running):
            k = _run_length(rep, items, ctx)
        times, energies = rep.cost.decode_run(ctx, k)
        durations = times + overhead
        prefill_tokens = 0
    else:
        dec = [s.computed for s, _ in items if s.decoding]
        pre = [(new, s.computed) for s, new in items if not s.decoding]
        t, e = rep.cost.step(np.asarray(dec, dtype=np.int64), np.asarray([p[0] for p in pre], dtype=np.int64),
                             np.asarray([p[1] for p in pre], dtype=np.int64))
        durations = np.array([t + overhead])
        energies = np.array([e])
        prefill_tokens = sum(p[0] for p in pre)
    starts = np.cumsum(np.concatenate(([now], durations)))
    used0 = rep.pool.used
    kv_used = np.full(k, used0, dtype=np.int64)
    if k > 1:
        kv_used += np.cumsum(_allocs_per_step(items, k, rep.pool.block_size))
    rep.step = Step(items=items, starts=starts, energies=energies, decode=decode, kv_used=kv_used,
                    waiting=len(rep.waiting), prefill_tokens=prefill_tokens, tokens=tokens)
    rep.token += 1
    return float(starts[-1])


def _allocs_per_step(items: list[tuple[Sequence, int]], k: int, bs: int) -> np.ndarray:
    """New blocks each step of a decode run needs (step 0 was allocated when planned)."""
    counts = np.zeros(k, dtype=np.int64)
    for s, _ in items:
        j0 = (-s.computed) % bs or bs
        counts[j0:k:bs] += 1
    counts[0] = 0
    return counts


def _run_length(rep: Replica, items: list[tuple[Sequence, int]], ctx: np.ndarray) -> int:
    """Steps the decode batch runs unchanged: up to and including the first completion, and before
    the first step whose block growth exceeds the free pool (where a step-by-step run would preempt)."""
    k = min(min(s.req.output_tokens - s.generated for s, _ in items), MAX_RUN_STEPS)
    if k <= 1:
        return 1
    need = np.cumsum(_allocs_per_step(items, k, rep.pool.block_size))
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
    pool, bs = rep.pool, rep.pool.block_size
    now = float(step.starts[-1])
    start = float(step.starts[-2])
    same = 0  # samples whose previous token came at this step's start: one ITL entry
    done: list[Sequence] = []
    for s, new in step.items:
        if s.known - s.computed == 1 and s.generated >= 1:
            s.decoded += 1
        else:
            s.prefilled += new
        computed = s.computed = s.computed + new
        if s.registered < len(s.hashes):
            while s.registered < len(s.hashes) and (s.registered + 1) * bs <= computed:
                pool.register(s.blocks[s.registered], s.hashes[s.registered])
                s.registered += 1
        if computed != s.known:
            continue
        s.generated += 1
        s.known += 1
        rep.samples += 1
        last = s.last_token_s
        if last == start:
            same += 1
        elif s.first_token_s < 0:
            s.first_token_s = now
        else:
            rep.itl_values.append(now - last)
            rep.itl_weights.append(1)
        s.last_token_s = now
        if s.generated == s.req.output_tokens:
            done.append(s)
    if same:
        rep.itl_values.append(now - start)
        rep.itl_weights.append(same)
    for s in done:
        s.finish_s = now
        pool.release(s.blocks)
        s.blocks = []
        rep.reserved -= s.reserved
        rep.finished.append(s)
    if done:
        rep.running = [s for s in rep.running if s.finish_s < 0]
    return done


def _commit_run(rep: Replica, step: Step, k: int) -> None:
    """Apply the first k - 1 steps of a decode run exactly as k - 1 single steps would, leaving the
    last one to `finish_step`."""
    pool, bs = rep.pool, rep.pool.block_size
    starts = step.starts
    # blocks the steps 1..k-1 allocate, in the order single steps would: by step, then batch order
    order = []
    for i, (s, _) in enumerate(step.items):
        j0 = (-s.computed) % bs or bs
        order.extend((j, i) for j in range(j0, k, bs))
    order.sort()
    for _, i in order:
        step.items[i][0].blocks += pool.allocate(1)
    first_end, last_start = float(starts[1]), float(starts[k - 1])
    same = 0
    for s, _ in step.items:
        if s.last_token_s == float(starts[0]):
            same += 1
        else:
            rep.itl_values.append(first_end - s.last_token_s)
            rep.itl_weights.append(1)
        s.computed += k - 1
        s.known += k - 1
        s.generated += k - 1
        s.decoded += k - 1
        s.last_token_s = last_start
    n = len(step.items)
    rep.samples += n * (k - 1)
    if same:
        rep.itl_values.append(first_end - float(starts[0]))
        rep.itl_weights.append(same)
    for j in range(1, k - 1):
        rep.itl_values.append(float(starts[j + 1]) - float(starts[j]))
        rep.itl_weights.append(n)
    step.starts = starts[k - 1:]
