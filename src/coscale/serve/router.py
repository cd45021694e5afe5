"""Which replica an arriving request goes to, and whether it is admitted at all.

- `round_robin`: by arrival count. `least_loaded`: fewest unfinished requests.
- `kv_aware` (NVIDIA Dynamo's KV router cost, https://docs.nvidia.com/dynamo/latest/router/README.html):
  the replica minimising `overlap_weight x blocks to prefill + decode blocks`, where blocks to prefill
  are the prompt's blocks that the replica holds neither in GPU memory nor in its KV tiers, and decode
  blocks are the blocks the replica holds or has queued plus the request's own.
- `kv_ttft` (Mooncake's Conductor, Qin et al., FAST 2025 Sec. 5): the replica with the lowest
  predicted TTFT: its queued prefill tokens plus this prompt's uncached tokens, at the per-token
  prefill time of one full chunk of the core step cost.

Admission control (`admission`, with `ttft_limit_s`): `reject` drops a request whose best predicted
TTFT exceeds the limit; `queue` holds it at the router (FCFS) until some replica can meet the limit
in what is left of it, and drops it when nothing is left. Ties go to the lowest replica index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.kv import PromptKeys
from coscale.serve.replica import Replica
from coscale.serve.request import Request, prompt_keys
from coscale.serve.tiers.replica_tiers import block_keys

ROUTERS = ("round_robin", "least_loaded", "kv_aware", "kv_ttft")
PREFIX_ROUTERS = ("kv_aware", "kv_ttft")  # the policies that read the prompt's keys
ADMISSIONS = ("none", "reject", "queue")
_NONE = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterConfig:
    policy: str = "least_loaded"
    overlap_weight: float = 1.0
    admission: str = "none"
    ttft_limit_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", self.policy.replace("-", "_"))
        if self.policy not in ROUTERS:
            raise CoscaleError(f"unknown router '{self.policy}'; use one of {', '.join(ROUTERS)}.")
        if self.admission not in ADMISSIONS:
            raise CoscaleError(f"unknown --admission '{self.admission}'; use one of {', '.join(ADMISSIONS)}.")
        if not self.overlap_weight >= 0:
            raise CoscaleError(f"--router-overlap-weight must be >= 0, got {self.overlap_weight}.")
        if self.admission != "none" and (self.ttft_limit_s is None or not self.ttft_limit_s > 0):
            raise CoscaleError(f"--admission {self.admission} needs a TTFT limit > 0 s: give --admission-ttft "
                               f"(got {self.ttft_limit_s}).")


def cached_blocks(rep: Replica, req: Request, keys: PromptKeys | None = None) -> int:
    """Leading prompt blocks of `req` the replica holds in GPU memory or in its KV tiers (`keys`: the
    prompt's keys at the replica's block size, when the caller has them)."""
    pool = rep.pool
    if not rep.cfg.prefix_caching or not req.prefix_hashes:
        return 0
    if keys is None or keys.n != req.input_tokens // pool.block_size:
        keys = prompt_keys(req, pool.block_size)
    limit = (req.input_tokens - 1) // pool.block_size
    gpu = len(pool.prompt_hit(keys, limit))
    if rep.tiers is None or gpu >= limit:
        return gpu
    return gpu + len(rep.tiers.chain.run(block_keys(keys, gpu, min(limit, keys.n))))


def queued_prefill_tokens(rep: Replica) -> int:
    """Prompt tokens the replica still has to compute: queued requests and unfinished prefills."""
    tab = rep.tab
    waiting = sum(int(tab.known[s.slot] - tab.computed[s.slot]) for s in rep.waiting)
    slots = rep.running_slots()
    if not len(slots):
        return waiting
    todo = tab.known[slots] - tab.computed[slots]
    return waiting + int(todo[(todo > 1) | (tab.generated[slots] == 0)].sum())


def _token_time(rep: Replica) -> float:
    """Seconds per prefill token of one full chunk of the replica's step budget."""
    b = rep.cfg.max_batched_tokens
    t, _ = rep.cost.step(_NONE, np.array([b], dtype=np.int64), np.array([0], dtype=np.int64))
    return t / b


def predicted_ttft(rep: Replica, req: Request, cached: int) -> float:
    new = req.input_tokens - cached * rep.pool.block_size
    return (queued_prefill_tokens(rep) + new) * _token_time(rep)


def _kv_cost(cfg: RouterConfig, rep: Replica, req: Request, cached: int) -> float:
    bs = rep.pool.block_size
    blocks = -(-req.input_tokens // bs)
    queued = sum(-(-s.known // bs) for s in rep.waiting)
    return cfg.overlap_weight * (blocks - cached) + rep.pool.used + queued + blocks


def choose(cfg: RouterConfig, replicas: list[Replica], arrivals_so_far: int, req: Request,
           keys: PromptKeys | None = None) -> tuple[Replica, float]:
    """The replica for `req` and its predicted TTFT (computed only when admission control needs it);
    `keys`: the prompt's keys at the replicas' block size, when the caller has them."""
    need_ttft = cfg.admission != "none"
    if cfg.policy == "round_robin":
        rep = replicas[arrivals_so_far % len(replicas)]
    elif cfg.policy == "least_loaded":
        rep = min(replicas, key=lambda r: (r.load, r.index))
    else:
        if keys is None and req.prefix_hashes:
            keys = prompt_keys(req, replicas[0].pool.block_size)
        hits = [cached_blocks(r, req, keys) for r in replicas]
        if cfg.policy == "kv_aware":
            rep = min(replicas, key=lambda r: (_kv_cost(cfg, r, req, hits[r.index]), r.index))
        else:
            ttfts = [predicted_ttft(r, req, hits[r.index]) for r in replicas]
            i = min(range(len(replicas)), key=lambda j: (ttfts[j], j))
            return replicas[i], ttfts[i]
        return rep, predicted_ttft(rep, req, hits[rep.index]) if need_ttft else 0.0
    return rep, predicted_ttft(rep, req, cached_blocks(rep, req)) if need_ttft else 0.0


def within_ttft_limit(cfg: RouterConfig, now: float, req: Request) -> bool:
    """The request's TTFT limit has not passed yet."""
    return now - req.arrival_s < (cfg.ttft_limit_s or 0.0)


def waits_at_router(cfg: RouterConfig, replicas: list[Replica], now: float, req: Request) -> bool:
    """Admission control `queue`: a request turned away waits at the router while some replica is
    stepping (its step end looks at the held queue again) and its TTFT limit has not passed."""
    return cfg.admission == "queue" and any(r.step is not None for r in replicas) and within_ttft_limit(cfg, now, req)


def route(cfg: RouterConfig, replicas: list[Replica], arrivals_so_far: int, req: Request | None = None,
          waited_s: float = 0.0, keys: PromptKeys | None = None) -> Replica | None:
    """The replica for `req`, or None when admission control turns it away (or holds it, `queue`)."""
    if req is None:  # the plain policies need no request
        if cfg.policy == "round_robin":
            return replicas[arrivals_so_far % len(replicas)]
        return min(replicas, key=lambda r: (r.load, r.index))
    rep, ttft = choose(cfg, replicas, arrivals_so_far, req, keys)
    if cfg.admission != "none" and ttft + waited_s > cfg.ttft_limit_s:  # type: ignore[operator]
        return None
    return rep
