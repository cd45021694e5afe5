"""A request's life inside one engine instance (mutable engine state, never shared outside it).

The counters every step touches (tokens computed, known, generated, decoded, block count, first and
last token times) live in the replica's `SeqArrays`, indexed by the sequence's slot, so a step
updates its whole batch with a few array operations; `Sequence` exposes them as attributes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.serve.kv import PromptKeys
from coscale.serve.request import Request


@dataclass(kw_only=True, slots=True)
class SeqArrays:
    computed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    generated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    decoded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    out: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    nblocks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    first: np.ndarray = field(default_factory=lambda: np.zeros(0))
    last: np.ndarray = field(default_factory=lambda: np.zeros(0))
    size: int = 0

    def add(self, known: int, out: int) -> int:
        """A new slot for a sequence with `known` tokens that will generate `out`."""
        if self.size == len(self.known):
            cap = max(64, 2 * self.size)
            for name in ("computed", "known", "generated", "decoded", "out", "nblocks"):
                a = np.zeros(cap, dtype=np.int64)
                a[:self.size] = getattr(self, name)[:self.size]
                setattr(self, name, a)
            for name in ("first", "last"):
                a = np.full(cap, -1.0)
                a[:self.size] = getattr(self, name)[:self.size]
                setattr(self, name, a)
        slot = self.size
        self.size += 1
        self.known[slot] = known
        self.out[slot] = out
        return slot


@dataclass(kw_only=True, slots=True, eq=False)
class Sequence:
    req: Request
    keys: PromptKeys  # content keys of the prompt's full blocks at the engine block size
    tab: SeqArrays
    slot: int
    blocks: list[int] = field(default_factory=list)
    registered: int = 0  # prompt blocks already published to the prefix cache
    order: int = -1  # admission counter (preemption order)
    scheduled_s: float = -1.0  # first time a step held it
    finish_s: float = -1.0
    preemptions: int = 0
    hit_tokens: int = 0  # prefix-cache hit on first admission
    prefilled: int = 0  # tokens computed in prefill chunks (recomputation included)
    reserved: int = 0  # blocks reserved for the whole request (reserve_full)
    discarded: int = 0  # computed tokens dropped by preemption
    rehit_tokens: int = 0  # prefix-cache hits on re-admission after preemption
    preloaded: int = 0  # tokens whose KV was transferred in (admitted without computing them)

    @property
    def computed(self) -> int:
        """Tokens whose KV is in the cache."""
        return int(self.tab.computed[self.slot])

    @computed.setter
    def computed(self, v: int) -> None:
        self.tab.computed[self.slot] = v

    @property
    def known(self) -> int:
        """Tokens that exist: input + generated."""
        return int(self.tab.known[self.slot])

    @property
    def generated(self) -> int:
        return int(self.tab.generated[self.slot])

    @property
    def decoded(self) -> int:
        """Tokens computed in decode steps."""
        return int(self.tab.decoded[self.slot])

    @property
    def first_token_s(self) -> float:
        return float(self.tab.first[self.slot])

    @property
    def last_token_s(self) -> float:
        return float(self.tab.last[self.slot])

    def set_blocks(self, blocks: list[int]) -> None:
        self.blocks = blocks
        self.tab.nblocks[self.slot] = len(blocks)

    def add_blocks(self, blocks: list[int]) -> None:
        self.blocks += blocks
        self.tab.nblocks[self.slot] = len(self.blocks)

    @property
    def decoding(self) -> bool:
        return self.generated >= 1 and self.known - self.computed == 1
