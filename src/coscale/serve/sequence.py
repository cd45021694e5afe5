"""A request's life inside one engine instance (mutable engine state, never shared outside it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from coscale.serve.request import Request


@dataclass(kw_only=True, slots=True, eq=False)
class Sequence:
    req: Request
    hashes: tuple[int, ...]  # chained hashes of the prompt's full blocks at the engine block size
    known: int  # tokens that exist: input + generated
    computed: int = 0  # tokens whose KV is in the cache
    generated: int = 0
    blocks: list[int] = field(default_factory=list)
    registered: int = 0  # prompt blocks already published to the prefix cache
    order: int = -1  # admission counter (preemption order)
    scheduled_s: float = -1.0  # first time a step held it
    first_token_s: float = -1.0
    last_token_s: float = -1.0
    finish_s: float = -1.0
    preemptions: int = 0
    hit_tokens: int = 0  # prefix-cache hit on first admission
    prefilled: int = 0  # tokens computed in prefill chunks (recomputation included)
    recomputed: int = 0  # tokens recomputed after preemption (net of cache hits)
    reserved: int = 0  # blocks reserved for the whole request (reserve_full)
    decoded: int = 0  # tokens computed in decode steps
    discarded: int = 0  # computed tokens dropped by preemption
    rehit_tokens: int = 0  # prefix-cache hits on re-admission after preemption

    @property
    def decoding(self) -> bool:
        return self.generated >= 1 and self.known - self.computed == 1
