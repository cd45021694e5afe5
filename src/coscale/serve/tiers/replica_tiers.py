"""What a replica does with its tiers: the hooks `serve.replica` calls.

- Admission (`plan_load` then `commit_load`): after the GPU prefix hit, the prompt's next blocks
  that a tier holds are loaded back when reading them costs less than recomputing them, where the
  recompute cost is the core's step cost of the request's remaining prefill with and without those
  tokens (`StepCostModel.step`); a load is all or nothing for the run of blocks found. A
  disaggregated decode instance weighs the same load against pulling the blocks over the KV link.
- Step start (`settle`): blocks GPU memory evicted since the last step are stored down (`on_evict`),
  or prompt blocks just prefilled are copied down (`write_through`); the store and any loads of the
  step's admissions are added to the step's duration (the GPU waits for them). Stores caused by a
  fast-forward decode run's block growth are charged to the step after it.
- Finish (`publish_decode`, keep = prompt+decode): the full blocks of generated tokens get content
  keys (the request's continuation ids, where the workload names them: multi-turn sessions), so they
  stay in the GPU prefix cache and go down the tiers like prompt blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

import numpy as np

from coscale.serve.cost_model import StepCostModel
from coscale.serve.kv import BlockPool, PromptKeys
from coscale.serve.request import Request, block_hashes
from coscale.serve.tiers.chain import TierChain
from coscale.serve.tiers.config import OffloadConfig

_NONE = np.zeros(0, dtype=np.int64)


def block_keys(keys: PromptKeys, lo: int, hi: int) -> list[Hashable]:
    """The content keys of prompt blocks lo..hi-1 (the GPU pool's keys, as hashable values): the shared
    hashes, then (request id, index) for the blocks unique to the request."""
    p = len(keys.shared)
    out: list[Hashable] = list(keys.shared[lo:min(hi, p)])
    if hi > p:
        rid = keys.rid
        out.extend((rid, i) for i in range(max(lo, p) - p, hi - p))
    return out


@dataclass(kw_only=True, slots=True)
class ReplicaTiers:
    chain: TierChain
    cfg: OffloadConfig
    block_size: int
    chunk: int  # tokens of one prefill chunk (the engine's step token budget)
    pending_s: float = 0.0  # seconds the next step waits (loads of its admissions, stores)
    gpu_hit_blocks: int = 0  # prompt blocks found in GPU memory at admission
    lookup_blocks: int = 0  # full prompt blocks looked up at admission
    loaded_blocks: int = 0
    recomputed_hit_blocks: int = 0  # found in a tier but recomputed (cheaper)
    _plan: tuple[list[Hashable], list[int], bool] | None = None

    def plan_load(self, keys: PromptKeys, gpu_blocks: int, limit: int, alternative_s: Callable[[int], float]) -> int:
        """Blocks after the GPU hit to load from the tiers (0: none, or the alternative is quicker).
        `alternative_s(m)`: seconds the m blocks found cost otherwise (an aggregated replica recomputes
        them, `recompute_s`; a disaggregated decode instance pulls them over the link)."""
        self._plan = None
        if limit <= gpu_blocks:
            return 0
        found, tiers = self.chain.run_keys(block_keys(keys, gpu_blocks, min(limit, keys.n)))
        m = len(tiers)
        if not m:
            return 0
        load = self.chain.load_s_of(tiers) < alternative_s(m)
        self._plan = (found, tiers, load)
        return m if load else 0

    def recompute_s(self, cost: StepCostModel, prefix: int, tokens: int) -> float:
        """Seconds of GPU time that prefilling `tokens` after a cached `prefix` adds: the core's step cost
        of each chunk of at most `chunk` tokens, less the cost of a one-token step (weights and fixed
        costs a step pays whatever it holds)."""
        base, _ = cost.step(_NONE, np.array([1], dtype=np.int64), np.array([0], dtype=np.int64))
        total, done = 0.0, 0
        while done < tokens:
            n = min(self.chunk, tokens - done)
            t, _ = cost.step(_NONE, np.array([n], dtype=np.int64), np.array([prefix + done], dtype=np.int64))
            total += max(t - base, 0.0)
            done += n
        return total

    def commit_load(self, gpu_blocks: int, known: int) -> None:
        """The planned load happens (the request was admitted); blocks found but not loaded count as
        hits recomputed (or, on a decode instance, pulled over the link)."""
        self.lookup_blocks += known // self.block_size
        self.gpu_hit_blocks += gpu_blocks
        if self._plan is None:
            return
        keys, tiers, load = self._plan
        self._plan = None
        if not load:
            self.chain.count_hits(tiers)
            self.recomputed_hit_blocks += len(keys)
            return
        self.loaded_blocks += len(keys)
        self.pending_s += self.chain.load(keys, tiers)

    def settle(self, pool: BlockPool) -> float:
        """Store what the pool evicted (and, write-through, what was just prefilled); the seconds the
        next step waits, reset."""
        ev = pool.evicted
        if ev:  # write-through: most are held already (refreshed, not copied again)
            self.pending_s += self.chain.store(ev)
            ev.clear()
        pub = pool.published
        if pub:
            self.pending_s += self.chain.store(pub)
            pub.clear()
        t, self.pending_s = self.pending_s, 0.0
        return t

    def publish_decode(self, pool: BlockPool, req: Request, blocks: list[int], computed: int) -> None:
        """Give the full blocks of a finished request's generated tokens content keys (keep = prompt+decode)."""
        if not req.prefix_hashes or req.session_id < 0:
            return
        bs = self.block_size
        lo, hi = req.input_tokens // bs, computed // bs
        if hi <= lo:
            return
        from coscale.serve.workload import session_block_ids

        total = req.input_tokens + req.output_tokens
        ids = req.prefix_hashes + session_block_ids(req.session_id, len(req.prefix_hashes),
                                                    -(-total // req.hash_block))
        full = replace(req, input_tokens=total, prefix_hashes=ids)
        hashes = block_hashes(full, bs)
        hi = min(hi, len(hashes), len(blocks))
        pool.register_run(blocks[lo:hi], hashes[lo:hi])
