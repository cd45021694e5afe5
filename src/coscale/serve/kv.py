"""Paged KV block pool with prefix caching (vLLM V1 semantics), kept in arrays.

Every free block sits in one LRU queue, cached or not; allocation takes from its front, evicting the
cached content there. A prefix hit takes a cached block out of the queue (or shares it, ref-counted).
A freed block goes to the back, keeping its content key until it is reused, so a later prompt with the
same prefix can hit it. Blocks of one sequence are freed tail first, so a prefix outlives its suffix.

Representation (for speed; the semantics above are the contract, tested against a list model): ref
counts are an array; the free queue is an array of block ids with lazy deletion (an entry is live when
its block is unreferenced and the entry is that block's latest push), so allocating, freeing and taking
blocks are a few array operations per request instead of one Python operation per block. Content keys
come in two kinds: blocks whose content a trace names (shared between requests) are chained hashes in a
dict; blocks unique to one request are keyed (request, block index) in two arrays, and the request's
`PromptKeys.own` remembers where it published each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.errors import CoscaleError

_NONE = -1


@dataclass(kw_only=True, slots=True)
class PromptKeys:
    """Content keys of a prompt's full blocks: `shared` chained hashes of the leading blocks a trace
    names, then `n - len(shared)` blocks unique to request `rid` (key: (rid, index))."""

    rid: int
    shared: tuple[int, ...]
    n: int
    own: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # unique block i -> block id

    def __post_init__(self) -> None:
        self.own = np.full(self.n - len(self.shared), _NONE, dtype=np.int64)


@dataclass(kw_only=True, slots=True)
class BlockPool:
    num_blocks: int
    block_size: int
    caching: bool = True
    _ref: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _hash: list[int | None] = field(default_factory=list)  # shared content hash per block
    _has_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _urid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # unique key: request
    _uidx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # unique key: block index
    _cached: dict[int, int] = field(default_factory=dict)  # shared hash -> block id
    _queue: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # freed blocks, LRU first
    _pushed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # block -> its latest entry
    _head: int = 0
    _tail: int = 0
    _nfree: int = 0  # live entries of the queue
    _fresh: int = 0  # blocks never handed out are ids _fresh .. num_blocks - 1 (the queue's front)
    evicted: list | None = None  # when a list: content keys allocation evicted, oldest first (for KV tiers)
    published: list | None = None  # when a list: content keys of prompt blocks published (write-through tiers)

    def __post_init__(self) -> None:
        if self.num_blocks < 1 or self.block_size < 1:
            raise CoscaleError(f"the KV pool needs >= 1 block of >= 1 token, got {self.num_blocks} blocks "
                               f"of {self.block_size}; raise --num-gpu-blocks or --gpu-memory-utilization.")
        n = self.num_blocks
        self._ref = np.zeros(n, dtype=np.int64)
        self._hash = [None] * n
        self._has_hash = np.zeros(n, dtype=bool)
        self._urid = np.full(n, _NONE, dtype=np.int64)
        self._uidx = np.full(n, _NONE, dtype=np.int64)
        self._queue = np.zeros(2 * n + 64, dtype=np.int64)
        self._pushed = np.full(n, _NONE, dtype=np.int64)

    @property
    def free(self) -> int:
        """Blocks allocatable now (never used, free, or cached and evictable)."""
        return self.num_blocks - self._fresh + self._nfree

    @property
    def used(self) -> int:
        return self._fresh - self._nfree

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    # ---- prefix lookup -------------------------------------------------------------------------

    def longest_hit(self, hashes: tuple[int, ...], limit_blocks: int) -> list[int]:
        """Block ids of the longest cached prefix of shared `hashes`, at most `limit_blocks` long."""
        if not self.caching:
            return []
        hit: list[int] = []
        cached = self._cached
        for h in hashes[:limit_blocks]:
            b = cached.get(h)
            if b is None:
                break
            hit.append(b)
        return hit

    def prompt_hit(self, keys: PromptKeys, limit_blocks: int) -> list[int]:
        """Block ids of the longest cached prefix of a prompt, at most `limit_blocks` long."""
        hit = self.longest_hit(keys.shared, limit_blocks)
        p = len(keys.shared)
        if len(hit) < p or limit_blocks <= p or not self.caching:
            return hit
        own = keys.own[:limit_blocks - p]
        if not len(own) or own[0] < 0:
            return hit
        safe = np.where(own >= 0, own, 0)
        ok = (own >= 0) & (self._urid[safe] == keys.rid) & (self._uidx[safe] == np.arange(len(own)))
        miss = np.flatnonzero(~ok)
        m = int(miss[0]) if len(miss) else len(own)
        return hit + own[:m].tolist()

    def unreferenced(self, hit: list[int]) -> int:
        """How many blocks of a hit sit in the free queue (taking them shrinks the free pool)."""
        if not hit:
            return 0
        return int(np.count_nonzero(self._ref[hit] == 0))

    def take(self, hit: list[int]) -> None:
        """Reference the blocks of a prefix hit (out of the free queue if nobody held them)."""
        if not hit:
            return
        idx = np.asarray(hit, dtype=np.int64)
        self._nfree -= int(np.count_nonzero(self._ref[idx] == 0))
        self._ref[idx] += 1  # a queue entry of a referenced block is dead

    # ---- allocation and release ----------------------------------------------------------------

    def allocate(self, n: int) -> list[int]:
        """`n` fresh blocks from the front of the LRU queue; the caller checks `free` first."""
        if n > self.free:
            raise AssertionError("allocate beyond the free pool")  # engine invariant, not user input
        if n <= 0:
            return []
        fresh = min(n, self.num_blocks - self._fresh)
        if fresh == n:  # untouched blocks sit ahead of every freed one in the LRU queue
            out = np.arange(self._fresh, self._fresh + n, dtype=np.int64)
            self._fresh += n
            self._ref[out] = 1
            return out.tolist()
        parts = [np.arange(self._fresh, self._fresh + fresh, dtype=np.int64)]
        self._fresh += fresh
        need = n - fresh
        while need:
            end = min(self._tail, self._head + max(2 * need, 64))
            if end <= self._head:
                raise AssertionError("free-queue count out of step with its entries")  # engine invariant
            pos = np.arange(self._head, end, dtype=np.int64)
            blk = self._queue[self._head:end]
            live = np.flatnonzero((self._pushed[blk] == pos) & (self._ref[blk] == 0))[:need]
            if len(live):
                parts.append(blk[live])
                need -= len(live)
            self._head = self._head + int(live[-1]) + 1 if need == 0 else end
        popped = parts[-1] if fresh == 0 and len(parts) == 2 else np.concatenate(parts)
        taken = popped[fresh:]
        self._nfree -= n - fresh
        self._pushed[taken] = _NONE
        named = self._has_hash[taken]
        if self.evicted is not None:
            self._evict_journaled(taken, named)
        else:
            bhash, cached = self._hash, self._cached
            for b in taken[named].tolist():  # evict shared content
                h = bhash[b]
                if cached.get(h) == b:
                    del cached[h]
                bhash[b] = None
        self._urid[taken] = _NONE  # evict unique content
        self._has_hash[taken] = False
        self._ref[popped] = 1
        return popped.tolist()

    def _evict_journaled(self, taken: np.ndarray, named: np.ndarray) -> None:
        """Evict the shared content of cached blocks about to be reused, recording the content keys of
        all of them in order (for the KV tiers): a shared hash, or (request, index)."""
        out = self.evicted
        assert out is not None
        if not named.any():  # unique content only: the keys of the blocks that hold some, in order
            rid = self._urid[taken]
            held = rid != _NONE
            out.extend(zip(rid[held].tolist(), self._uidx[taken][held].tolist(), strict=True))
            return
        bhash, cached, append = self._hash, self._cached, out.append
        for b, r, i, h in zip(taken.tolist(), self._urid[taken].tolist(), self._uidx[taken].tolist(),
                              named.tolist(), strict=True):
            if h:
                key = bhash[b]
                if cached.get(key) == b:
                    append(key)
                    del cached[key]
                bhash[b] = None
            elif r != _NONE:
                append((r, i))

    def release(self, blocks: list[int]) -> None:
        """Drop one reference to each block (distinct blocks of one sequence), tail first."""
        if not blocks:
            return
        idx = np.asarray(blocks[::-1], dtype=np.int64)
        self._ref[idx] -= 1
        freed = idx[self._ref[idx] == 0]
        k = len(freed)
        if not k:
            return
        if self._tail + k > len(self._queue):
            self._compact()
        self._queue[self._tail:self._tail + k] = freed
        self._pushed[freed] = np.arange(self._tail, self._tail + k, dtype=np.int64)
        self._tail += k
        self._nfree += k

    def _compact(self) -> None:
        """Drop dead and consumed entries, keeping the live ones in order at the start of the queue."""
        pos = np.arange(self._head, self._tail, dtype=np.int64)
        blk = self._queue[self._head:self._tail]
        live = blk[(self._pushed[blk] == pos) & (self._ref[blk] == 0)]
        self._pushed[self._pushed >= 0] = _NONE
        self._queue[:len(live)] = live
        self._pushed[live] = np.arange(len(live), dtype=np.int64)
        self._head, self._tail = 0, len(live)

    # ---- publishing content ---------------------------------------------------------------------

    def register(self, block: int, h: int) -> None:
        """A block became full with shared content `h`: later prompts may hit it (first holder wins)."""
        if self.caching and self._hash[block] is None and self._urid[block] == _NONE and h not in self._cached:
            self._hash[block] = h
            self._has_hash[block] = True
            self._cached[h] = block

    def register_run(self, blocks: list[int], hashes: tuple[int, ...]) -> None:
        """`register` for consecutive (distinct) blocks of one prompt, in order: the unique-content test
        read once as an array, the content flags set once."""
        if len(blocks) != len(hashes):
            raise ValueError("register_run: one hash per block")  # engine invariant, not user input
        if not self.caching or not blocks:
            return
        bhash, cached = self._hash, self._cached
        blk = np.asarray(blocks, dtype=np.int64)
        if not (self._has_hash[blk].any() or (self._urid[blk] != _NONE).any()) and cached.keys().isdisjoint(hashes) \
                and len(set(hashes)) == len(hashes):  # the common case, each block registered: set-level tests
            cached.update(zip(hashes, blocks, strict=True))
            for b, h in zip(blocks, hashes, strict=True):
                bhash[b] = h
            self._has_hash[blk] = True
            return
        named: list[int] = []
        for b, h, free in zip(blocks, hashes, (self._urid[blk] == _NONE).tolist(), strict=True):
            if free and bhash[b] is None and h not in cached:
                bhash[b] = h
                cached[h] = b
                named.append(b)
        if named:
            self._has_hash[named] = True

    def publish(self, blocks: list[int], keys: PromptKeys, lo: int, hi: int) -> None:
        """Blocks `lo..hi-1` of a prompt became full (`blocks` are the sequence's): publish their keys."""
        if not self.caching:
            return
        p = len(keys.shared)
        if self.published is not None:
            self.published.extend(keys.shared[lo:min(hi, p)])
            self.published.extend((keys.rid, i) for i in range(max(lo, p) - p, hi - p))
        if lo < p:
            self.register_run(blocks[lo:min(hi, p)], keys.shared[lo:min(hi, p)])
            lo = p
        if hi <= lo:
            return
        blk = np.asarray(blocks[lo:hi], dtype=np.int64)
        window = slice(lo - p, hi - p)
        ok = (self._urid[blk] == _NONE) & ~self._has_hash[blk]  # blocks without content yet
        prev = keys.own[window]
        if prev.max() >= 0:  # some keys were published before (a preempted prompt): first holder wins
            i = np.arange(lo - p, hi - p, dtype=np.int64)
            safe = np.where(prev >= 0, prev, 0)
            ok &= ~((prev >= 0) & (self._urid[safe] == keys.rid) & (self._uidx[safe] == i))
        if ok.all():
            self._urid[blk] = keys.rid
            self._uidx[blk] = np.arange(lo - p, hi - p, dtype=np.int64)
            keys.own[window] = blk
            return
        i = np.arange(lo - p, hi - p, dtype=np.int64)[ok]
        blk = blk[ok]
        self._urid[blk] = keys.rid
        self._uidx[blk] = i
        keys.own[i] = blk
