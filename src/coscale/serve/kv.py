"""Paged KV block pool with prefix caching (vLLM V1 semantics).

Every free block sits in one LRU queue, cached or not; allocation takes from its front, evicting the
cached content there. A prefix hit takes a cached block out of the queue (or shares it, ref-counted).
A freed block goes to the back, keeping its hash until it is reused, so a later prompt with the same
prefix can hit it. Blocks of one sequence are freed tail first, so a prefix outlives its suffix.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from coscale.errors import CoscaleError


@dataclass(kw_only=True, slots=True)
class BlockPool:
    num_blocks: int
    block_size: int
    caching: bool = True
    _ref: list[int] = field(default_factory=list)
    _hash: list[int | None] = field(default_factory=list)
    _free: OrderedDict[int, None] = field(default_factory=OrderedDict)  # freed blocks, LRU first
    _cached: dict[int, int] = field(default_factory=dict)  # block hash -> block id
    _fresh: int = 0  # blocks never handed out are ids _fresh .. num_blocks - 1 (the queue's front)

    def __post_init__(self) -> None:
        if self.num_blocks < 1 or self.block_size < 1:
            raise CoscaleError(f"the KV pool needs >= 1 block of >= 1 token, got {self.num_blocks} blocks "
                               f"of {self.block_size}; raise --num-gpu-blocks or --gpu-memory-utilization.")
        self._ref = []
        self._hash = []

    @property
    def free(self) -> int:
        """Blocks allocatable now (never used, free, or cached and evictable)."""
        return self.num_blocks - self._fresh + len(self._free)

    @property
    def used(self) -> int:
        return self._fresh - len(self._free)

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    def longest_hit(self, hashes: tuple[int, ...], limit_blocks: int) -> list[int]:
        """Block ids of the longest cached prefix of `hashes`, at most `limit_blocks` long."""
        if not self.caching:
            return []
        hit: list[int] = []
        for h in hashes[:limit_blocks]:
            b = self._cached.get(h)
            if b is None:
                break
            hit.append(b)
        return hit

    def unreferenced(self, hit: list[int]) -> int:
        """How many blocks of a hit sit in the free queue (taking them shrinks the free pool)."""
        return sum(1 for b in hit if self._ref[b] == 0)

    def take(self, hit: list[int]) -> None:
        """Reference the blocks of a prefix hit (out of the free queue if nobody held them)."""
        for b in hit:
            if self._ref[b] == 0:
                del self._free[b]
            self._ref[b] += 1

    def allocate(self, n: int) -> list[int]:
        """`n` fresh blocks from the front of the LRU queue; the caller checks `free` first."""
        if n > self.free:
            raise AssertionError("allocate beyond the free pool")  # engine invariant, not user input
        out: list[int] = []
        fresh = min(n, self.num_blocks - self._fresh)
        if fresh:  # untouched blocks sit ahead of every freed one in the LRU queue
            out = list(range(self._fresh, self._fresh + fresh))
            self._fresh += fresh
            self._ref.extend([1] * fresh)
            self._hash.extend([None] * fresh)
            n -= fresh
        for _ in range(n):
            b, _none = self._free.popitem(last=False)
            h = self._hash[b]
            if h is not None:
                if self._cached.get(h) == b:
                    del self._cached[h]
                self._hash[b] = None
            self._ref[b] = 1
            out.append(b)
        return out

    def register(self, block: int, h: int) -> None:
        """A block became full with content `h`: later prompts may hit it (first holder wins)."""
        if self.caching and self._hash[block] is None and h not in self._cached:
            self._hash[block] = h
            self._cached[h] = block

    def register_run(self, blocks: list[int], hashes: tuple[int, ...]) -> None:
        """`register` for consecutive blocks of one prompt."""
        if not self.caching:
            return
        owner, cached = self._hash, self._cached
        for b, h in zip(blocks, hashes, strict=True):
            if owner[b] is None and h not in cached:
                owner[b] = h
                cached[h] = b

    def release(self, blocks: list[int]) -> None:
        """Drop one reference to each block, tail first."""
        for b in reversed(blocks):
            self._ref[b] -= 1
            if self._ref[b] == 0:
                self._free[b] = None
