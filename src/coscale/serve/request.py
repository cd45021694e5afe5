"""A request as the workload hands it to the engine, and the chained block hashes used for prefix caching."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.kv import PromptKeys


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """One inference request. `prefix_hashes` identify the content of consecutive `hash_block`-token
    blocks of the prompt (prefix-chained like Mooncake's `hash_ids`: equal leading ids mean equal
    leading tokens); tokens beyond them are unique to the request."""

    rid: int
    arrival_s: float
    input_tokens: int
    output_tokens: int
    session_id: int = -1
    prefix_hashes: tuple[int, ...] = ()
    hash_block: int = 512

    def __post_init__(self) -> None:
        if self.input_tokens < 1 or self.output_tokens < 1:
            raise CoscaleError(f"request {self.rid}: input and output tokens must be >= 1, got "
                               f"{self.input_tokens} and {self.output_tokens}.")
        if not np.isfinite(self.arrival_s) or self.arrival_s < 0:
            raise CoscaleError(f"request {self.rid}: arrival time must be finite and >= 0, got {self.arrival_s}.")


def prompt_keys(req: Request, block_size: int, shared: tuple[int, ...] | None = None) -> PromptKeys:
    """Content keys of the prompt's full `block_size`-token blocks: the chained hashes of
    `block_hashes` where the trace names the content, then keys unique to the request (two prompts
    share block i's key exactly when they share all tokens up to it). `shared`: those hashes when the
    caller has them already (another pool's keys of the same prompt at the same block size)."""
    n = req.input_tokens // block_size
    if shared is None:
        shared = block_hashes(req, block_size, shared_only=True) if req.prefix_hashes else ()
    return PromptKeys(rid=req.rid, shared=shared, n=n)


def block_hashes(req: Request, block_size: int, shared_only: bool = False) -> tuple[int, ...]:
    """Chained hashes of the full `block_size`-token blocks of the prompt: block i's hash covers
    every token up to its end (hash of the previous block's hash and this block's content), so two
    prompts share block i's hash exactly when they share all tokens up to it. A block's content is
    (the trace block id it lies in, its offset there) where the trace knows it, else unique to the request."""
    if req.hash_block % block_size == 0:  # each block lies in one trace block: no index arithmetic per block
        return _aligned_hashes(req, block_size, shared_only)
    return _general_hashes(req, block_size, shared_only)


def _general_hashes(req: Request, block_size: int, shared_only: bool) -> tuple[int, ...]:
    """`block_hashes` for any block size (a block may straddle trace blocks)."""
    out: list[int] = []
    prev = 0
    known = len(req.prefix_hashes)
    for i in range(req.input_tokens // block_size):
        start = i * block_size
        end = start + block_size
        first, last = start // req.hash_block, (end - 1) // req.hash_block
        if last < known:
            content: tuple = (*req.prefix_hashes[first:last + 1], start % req.hash_block)
        elif shared_only:
            break
        else:
            content = ("unique", req.rid, i)
        prev = hash((prev, content))
        out.append(prev)
    return tuple(out)


def _aligned_hashes(req: Request, block_size: int, shared_only: bool) -> tuple[int, ...]:
    """`block_hashes` when `block_size` divides the trace's block: block i's content is (the trace
    block id it lies in, its offset there), hashed onto the previous block's hash in the same order."""
    ph, hb = req.prefix_hashes, req.hash_block
    total = req.input_tokens // block_size
    per = hb // block_size
    n = min(total, len(ph) * per)
    full, rest = divmod(n, per)
    offsets = range(0, hb, block_size)
    out: list[int] = []
    append = out.append
    prev = 0
    for hid in ph[:full]:
        for off in offsets:
            prev = hash((prev, (hid, off)))
            append(prev)
    if rest:
        hid = ph[full]
        for off in offsets[:rest]:
            prev = hash((prev, (hid, off)))
            append(prev)
    if not shared_only:
        for i in range(n, total):
            prev = hash((prev, ("unique", req.rid, i)))
            append(prev)
    return tuple(out)
