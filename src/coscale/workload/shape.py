"""The shape of one engine step: decode sequences and prefill chunks that share one forward pass.

A continuous-batching step (vLLM, SGLang, TensorRT-LLM in-flight batching) runs the decode tokens of
the running sequences and the prefill chunks of newly admitted ones through one pass: every GEMM
sees all their tokens together (one weight read), while attention and the Mamba scan are costed
per group, since what they read depends on each sequence's cached context.

Every quantity is a numpy array whose *last axis lists the members of a group* (sequences, or
prefill chunks); leading axes, if any, index independent steps, so a sweep of a million step
shapes is the same formulas evaluated once on arrays. Group sums reduce the last axis only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coscale.errors import CoscaleError

Array = np.ndarray


def keys_per_query(new_tokens: Array | float, context: Array | float, window: int | None) -> Array:
    """Mean keys each new query attends to under the causal mask (and sliding window, if any).

    New tokens sit at positions context+1 .. context+new_tokens; position q sees min(q, window)
    keys. Covers prefill (context 0), chunked prefill on a cached prefix, and decode (one new token)."""
    new = np.asarray(new_tokens, dtype=np.float64)
    first = np.asarray(context, dtype=np.float64) + 1.0
    last = first - 1.0 + new
    w = last if window is None else np.float64(window)
    unwindowed_end = np.minimum(last, w)  # positions that still see every earlier token
    span = unwindowed_end - first + 1.0
    total = np.where(span > 0, (first + unwindowed_end) * span / 2.0, 0.0)
    total = total + np.maximum(0.0, last - np.maximum(first - 1.0, w)) * w
    return np.divide(total, new, out=np.zeros_like(total), where=new > 0)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class TokenGroup:
    """Members that each hold `seqs` sequences adding `new_tokens` on top of `context` cached tokens.

    Arrays broadcast together; their last axis lists members (one member per heterogeneous
    sequence or chunk, or one homogeneous member per step in a sweep)."""

    seqs: Array
    new_tokens: Array
    context: Array

    @staticmethod
    def of(seqs: object, new_tokens: object, context: object) -> TokenGroup:
        s, n, c = (np.asarray(x, dtype=np.float64) for x in (seqs, new_tokens, context))
        s, n, c = np.broadcast_arrays(np.atleast_1d(s), np.atleast_1d(n), np.atleast_1d(c))
        return TokenGroup(seqs=s, new_tokens=n, context=c)

    def total(self, per_member: Array) -> Array:
        """Sum of a per-member quantity over the group (reduces the last axis)."""
        return np.sum(per_member, axis=-1)

    @property
    def tokens(self) -> Array:
        return self.total(self.seqs * self.new_tokens)

    @property
    def num_seqs(self) -> Array:
        return self.total(self.seqs)

    def query_keys(self, window: int | None) -> Array:
        """Query-key pairs of the group: sum of seqs * new_tokens * keys per query."""
        return self.total(self.seqs * self.new_tokens * keys_per_query(self.new_tokens, self.context, window))

    def cached_tokens(self, window: int | None) -> Array:
        """Tokens held in a (window-capped) cache after the pass, summed over sequences."""
        after = self.context + self.new_tokens
        held = after if window is None else np.minimum(after, window)
        return self.total(self.seqs * held)

    def chunked_tokens(self, chunk: int) -> Array:
        """sum of seqs * new_tokens * min(chunk, new_tokens): the SSD intra-chunk work weight."""
        return self.total(self.seqs * self.new_tokens * np.minimum(chunk, self.new_tokens))


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class StepShape:
    """One step (or, on arrays, many independent steps): a decode group and a prefill group.

    Decode members generate one token each on top of their cached context (the KV length before
    the step); prefill members are chunks of `new_tokens` prompt tokens extending a cached prefix
    (a prefix-cache hit or the chunks before them). With attention-DP + EP these are one rank's groups;
    `group_tokens` is the tokens of all the group's ranks in this step, which the MoE experts serve
    (None: every rank carries this rank's tokens)."""

    decode: TokenGroup
    prefill: TokenGroup
    group_tokens: Array | None = None

    @staticmethod
    def of(decode_contexts: Sequence[float] | Array = (),
           prefill_chunks: Sequence[tuple[float, float]] | Array = (), group_tokens: float | None = None) -> StepShape:
        """A heterogeneous step: each decode sequence's context, each chunk's (new tokens, cached prefix)."""
        ctx = np.asarray(decode_contexts, dtype=np.float64).reshape(-1)
        chunks = np.asarray(prefill_chunks, dtype=np.float64).reshape(-1, 2)
        if (ctx < 0).any() or (chunks[:, 1] < 0).any() or (chunks[:, 0] < 1).any():
            raise CoscaleError("a step needs decode contexts >= 0 and prefill chunks of >= 1 new token on a "
                               "prefix >= 0; fix the shape.")
        if group_tokens is not None and group_tokens < len(ctx) + chunks[:, 0].sum():
            raise CoscaleError(f"a step's group tokens ({group_tokens:g}) cannot be fewer than its own "
                               f"({len(ctx) + chunks[:, 0].sum():g}); fix the shape.")
        return StepShape(decode=TokenGroup.of(np.ones_like(ctx), 1.0, ctx),
                         prefill=TokenGroup.of(np.ones(len(chunks)), chunks[:, 0], chunks[:, 1]),
                         group_tokens=None if group_tokens is None else np.float64(group_tokens))

    @staticmethod
    def uniform(*, decode_seqs: object = 0, decode_context: object = 0, prefill_seqs: object = 0,
                prefill_new: object = 1, prefill_prefix: object = 0, group_tokens: object = None) -> StepShape:
        """Steps of `decode_seqs` sequences at one context and `prefill_seqs` equal chunks. Arguments
        may be arrays (one step per element): the sweep form."""
        args = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in
                                     (decode_seqs, decode_context, prefill_seqs, prefill_new, prefill_prefix)))
        ds, dc, ps, pn, pp = (a[..., None] for a in args)  # one homogeneous member per step
        if (ds < 0).any() or (dc < 0).any() or (ps < 0).any() or (pn < 1).any() or (pp < 0).any():
            raise CoscaleError("step sizes must be >= 0 (prefill chunks >= 1 new token); fix the shape.")
        group = None if group_tokens is None else np.broadcast_to(np.asarray(group_tokens, dtype=np.float64),
                                                                  args[0].shape)
        return StepShape(decode=TokenGroup.of(ds, 1.0, dc), prefill=TokenGroup.of(ps, pn, pp), group_tokens=group)

    @property
    def tokens(self) -> Array:
        """Tokens through the GEMMs: one per decode sequence plus every prefill token."""
        return self.decode.tokens + self.prefill.tokens

    @property
    def num_seqs(self) -> Array:
        """Sequences in the step (rows of the LM head: one logit position each)."""
        return self.decode.num_seqs + self.prefill.num_seqs
