"""Trace-level prefix-hit ratio: replay a trace's block ids through the simulator's caches.

A Mooncake trace names each request's 512-token prompt blocks with prefix-chained ids (equal leading
ids = reusable KV). Replaying the requests in arrival order through a cache of `capacity_blocks`
(None: unbounded) gives the share of prompt tokens (and blocks) found cached, with no timing: every
request's blocks are in the cache before the next request looks (the upper bound a serving run with
in-flight requests approaches). Two caches are offered, both the simulator's own: `tier` (the KV
tiers' LRU store, `TierChain`; a request's blocks are stored tail first, so a prefix outlives its
suffix) and `pool` (the GPU block pool, `BlockPool`: vLLM's free-block LRU queue). `caches` > 1
splits the requests over that many separate caches (Mooncake's local-cache baseline): round-robin, or
`kv_aware` as Mooncake's Conductor places them (lowest predicted TTFT: the node's prefix hit against
its backlog of prefill work).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.serve.kv import BlockPool, PromptKeys
from coscale.serve.tiers.chain import LruTier, TierChain
from coscale.serve.tiers.media import TierMedium

UNBOUNDED = 1 << 62


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceBlocks:
    """One request of a trace: prompt tokens and its block ids (`block_tokens` tokens each, the last partial)."""

    input_tokens: int
    ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class HitRatio:
    token_ratio: float
    block_ratio: float
    requests: int
    capacity_blocks: int | None
    caches: int


def read_block_ids(path: str | Path) -> tuple[TraceBlocks, ...]:
    """`input_length` and `hash_ids` of every line of a Mooncake JSONL trace (plain or .gz)."""
    p = Path(path)
    if not p.is_file():
        raise CoscaleError(f"trace file '{path}' does not exist; give a Mooncake JSONL trace (.jsonl or .jsonl.gz).")
    opener = gzip.open if p.suffix == ".gz" else open
    out = []
    with opener(p, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(TraceBlocks(input_tokens=int(row["input_length"]),
                                       ids=tuple(int(h) for h in row["hash_ids"])))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise CoscaleError(f"{p.name} line {n}: not a Mooncake record with input_length and "
                                   f"hash_ids.") from None
    return tuple(out)


def _block_tokens(r: TraceBlocks, i: int, block_tokens: int) -> int:
    return max(min(block_tokens, r.input_tokens - i * block_tokens), 0)


class _TierCache:
    def __init__(self, capacity: int) -> None:
        medium = TierMedium(name="trace", capacity_blocks=capacity, block_bytes=0.0, gpus=1, read_Bps=1.0,
                            write_Bps=1.0, latency_s=0.0, shared=False, source="trace replay")
        self.chain = TierChain(levels=(LruTier(medium=medium),))

    def peek(self, ids: tuple[int, ...]) -> int:
        return len(self.chain.run(ids))

    def lookup_and_insert(self, ids: tuple[int, ...]) -> int:
        hit = len(self.chain.run(ids))
        self.chain.store(reversed(ids))
        return hit


class _PoolCache:
    def __init__(self, capacity: int) -> None:
        self.pool = BlockPool(num_blocks=capacity, block_size=1)

    def peek(self, ids: tuple[int, ...]) -> int:
        return len(self.pool.prompt_hit(PromptKeys(rid=0, shared=ids, n=len(ids)), len(ids)))

    def lookup_and_insert(self, ids: tuple[int, ...]) -> int:
        pool = self.pool
        keys = PromptKeys(rid=0, shared=ids, n=len(ids))
        hit = pool.prompt_hit(keys, len(ids))
        need = len(ids) - len(hit)
        if need + pool.unreferenced(hit) > pool.free:  # the prompt alone overflows the cache: look only
            return len(hit)
        pool.take(hit)
        blocks = hit + pool.allocate(need)
        pool.register_run(blocks[len(hit):], ids[len(hit):])
        pool.release(blocks)
        return len(hit)


PLACEMENTS = ("round_robin", "kv_aware")


def _kv_aware(stores: list, work: list[float], r: TraceBlocks, block_tokens: int) -> int:
    """The cache with the lowest predicted TTFT (Mooncake's Conductor): the prefill work the request
    leaves after that cache's prefix hit, plus that node's queue, taken as the prefill work routed to
    it beyond the least-loaded node's (every node drains at the same rate, the least loaded has none)."""
    low = min(work)
    best, best_cost, best_miss = 0, float("inf"), 0
    for i, st in enumerate(stores):
        hit = st.peek(r.ids)
        miss = r.input_tokens - sum(_block_tokens(r, b, block_tokens) for b in range(hit))
        cost = miss + work[i] - low
        if cost < best_cost:
            best, best_cost, best_miss = i, cost, miss
    work[best] += best_miss
    return best


def replay_hit_ratio(reqs: Sequence[TraceBlocks], capacity_blocks: int | None = None, block_tokens: int = 512,
                     cache: str = "tier", caches: int = 1, placement: str = "round_robin") -> HitRatio:
    """Prefix-hit ratio of `reqs` replayed in order through `caches` caches of `capacity_blocks` each,
    requests placed round-robin or on the cache with the lowest predicted TTFT (`kv_aware`)."""
    if capacity_blocks is not None and capacity_blocks < 1:
        raise CoscaleError(f"the cache must hold >= 1 block, got {capacity_blocks}.")
    if caches < 1:
        raise CoscaleError(f"need >= 1 cache, got {caches}.")
    if placement not in PLACEMENTS:
        raise CoscaleError(f"unknown placement '{placement}'; use one of {', '.join(PLACEMENTS)}.")
    kind = {"tier": _TierCache, "pool": _PoolCache}.get(cache)
    if kind is None:
        raise CoscaleError(f"unknown cache '{cache}'; use tier or pool.")
    cap = capacity_blocks or (UNBOUNDED if cache == "tier" else max(sum(len(r.ids) for r in reqs), 1))
    stores = [kind(cap) for _ in range(caches)]
    hit_tok = tot_tok = hit_blk = tot_blk = 0
    work = [0.0] * caches
    for n, r in enumerate(reqs):
        i = _kv_aware(stores, work, r, block_tokens) if placement == "kv_aware" and caches > 1 else n % caches
        k = stores[i].lookup_and_insert(r.ids)
        hit_tok += sum(_block_tokens(r, i, block_tokens) for i in range(k))
        tot_tok += r.input_tokens
        hit_blk += k
        tot_blk += len(r.ids)
    return HitRatio(token_ratio=hit_tok / tot_tok if tot_tok else 0.0,
                    block_ratio=hit_blk / tot_blk if tot_blk else 0.0, requests=len(reqs),
                    capacity_blocks=capacity_blocks, caches=caches)
