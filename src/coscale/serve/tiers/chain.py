"""The tiers below GPU memory as LRU stores of block content keys, top to bottom.

A key is a block's content identity, as the GPU prefix cache names it: a chained hash for content a
trace names, `(request id, block index)` for content unique to one request. Tiers are exclusive: a
key sits in at most one tier. A block stored from GPU memory enters the top tier; the least recently
used key of a full tier moves down one tier, and out of the bottom one it is dropped. A load in
`on_evict` mode takes the key out of its tier (the block is back in GPU memory); in `write_through`
mode the copy stays (it is the backing copy) and is only refreshed; a load from the pod-shared tier
always leaves the copy there, for the other replicas.

Counters (blocks; bytes are blocks x the replica's block bytes): per tier `written` (entered it:
stored from GPU or moved down), `read` (loaded back), `moved_out` (moved down or dropped); per chain
`stored` (entered the top from GPU), `dropped` (left the bottom), `loaded` (taken out by a load).
Conservation, checked by the tests: stored = held in the tiers + dropped + loaded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from coscale.serve.tiers.media import TierMedium


@dataclass(kw_only=True, slots=True, eq=False)
class LruTier:
    medium: TierMedium
    keys: OrderedDict = field(default_factory=OrderedDict)  # key -> None, least recently used first
    written: int = 0
    read: int = 0
    hits: int = 0  # blocks found here by a prompt (loaded or not)
    moved_out: int = 0

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(kw_only=True, slots=True)
class TierChain:
    levels: tuple[LruTier, ...]
    exclusive: bool = True  # on_evict: a load takes the key out of its tier
    stored: int = 0
    dropped: int = 0
    loaded: int = 0
    store_s: float = 0.0  # seconds of stores charged to the critical path
    load_s: float = 0.0

    def where(self, key: Hashable) -> int:
        """The tier holding `key`, or -1."""
        for i, lv in enumerate(self.levels):
            if key in lv.keys:
                return i
        return -1

    def held(self) -> int:
        return sum(len(lv) for lv in self.levels)

    def store(self, keys: Iterable[Hashable]) -> float:
        """Copy blocks from GPU memory into the top tier (keys already held anywhere are refreshed, not
        copied again); a full tier pushes its least recently used key down one tier, out of the bottom
        one it is dropped, and a key pushed into a tier that already holds it (the pod-shared tier,
        filled by another replica) is refreshed there and dropped. Returns the seconds the GPU waits:
        the top tier's write of the new blocks; moving keys further down is the host's work and stays
        off the GPU's critical path. One loop with local counters: it runs once per stored block."""
        levels = self.levels
        if not levels:
            return 0.0
        dicts = [lv.keys for lv in levels]
        caps = [lv.medium.capacity_blocks for lv in levels]
        written = [0] * len(levels)
        moved_out = [0] * len(levels)
        top, top_cap, depth = dicts[0], caps[0], len(levels)
        new = dropped = 0
        for key in keys:
            for d in dicts:
                if key in d:
                    d.move_to_end(key)
                    break
            else:
                new += 1
                top[key] = None
                written[0] += 1
                if len(top) <= top_cap:  # room at the top: the common case
                    continue
                moving, _ = top.popitem(last=False)
                moved_out[0] += 1
                i = 1
                while True:
                    if i == depth:
                        dropped += 1
                        break
                    d = dicts[i]
                    if moving in d:
                        d.move_to_end(moving)
                        dropped += 1
                        break
                    d[moving] = None
                    written[i] += 1
                    if len(d) <= caps[i]:
                        break
                    moving, _ = d.popitem(last=False)
                    moved_out[i] += 1
                    i += 1
        for lv, w, m in zip(levels, written, moved_out, strict=True):
            lv.written += w
            lv.moved_out += m
        self.stored += new
        self.dropped += dropped
        t = levels[0].medium.write_s(new)
        self.store_s += t
        return t

    def run(self, keys: Iterable[Hashable]) -> list[int]:
        """The tier of each key of the leading run of `keys` that the tiers hold (stops at the first miss)."""
        return self.run_keys(keys)[1]

    def run_keys(self, keys: Iterable[Hashable]) -> tuple[list[Hashable], list[int]]:
        """(keys, tiers) of the leading run of `keys` that the tiers hold."""
        found: list[Hashable] = []
        tiers: list[int] = []
        dicts = [lv.keys for lv in self.levels]
        for key in keys:
            for i, d in enumerate(dicts):
                if key in d:
                    found.append(key)
                    tiers.append(i)
                    break
            else:
                break
        return found, tiers

    def load_s_of(self, tiers: list[int]) -> float:
        """Seconds to read blocks from these tiers (one access latency per tier touched)."""
        return sum(lv.medium.read_s(tiers.count(i)) for i, lv in enumerate(self.levels))

    def load(self, keys: list[Hashable], tiers: list[int]) -> float:
        """Read these blocks back to GPU memory; returns the seconds the GPU waits for them."""
        for key, i in zip(keys, tiers, strict=True):
            lv = self.levels[i]
            lv.read += 1
            lv.hits += 1
            if self.exclusive and not lv.medium.shared:
                del lv.keys[key]
                self.loaded += 1
            else:
                lv.keys.move_to_end(key)
        t = self.load_s_of(tiers)
        self.load_s += t
        return t

    def count_hits(self, tiers: list[int]) -> None:
        """Blocks found in the tiers but recomputed (loading them was dearer)."""
        for i in tiers:
            self.levels[i].hits += 1
