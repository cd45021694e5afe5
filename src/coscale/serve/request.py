"""A request as the workload hands it to the engine, and the chained block hashes used for prefix caching."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.kv import PromptKeys

_KEY_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd (2^64 / golden ratio): block key = chain * this + end, wrapping


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
        shared = block_hashes(req, block_size) if req.prefix_hashes else ()
    return PromptKeys(rid=req.rid, shared=shared, n=n)


def block_hashes(req: Request, block_size: int) -> tuple[int, ...]:
    """Content keys of the prompt's full `block_size`-token blocks whose every token the trace names (the
    rest are unique to the request: `PromptKeys` keys them by request and index). Two prompts share block
    i's key exactly when they share every token up to its end.

    The tokens up to position `end` are those of trace blocks 0 .. (end - 1) // hash_block, so block i's key
    mixes the chained hash of those trace ids (one hash per trace block, not one per block) with `end`:
    key = chain * M + end (mod 2^64, M odd, so distinct ends of one chain never collide). Any block size
    works, including blocks that straddle trace blocks. Keep the keys of consecutive blocks this close (they
    differ by the block size): the prefix-cache and tier dictionaries then probe neighbouring slots for one
    prompt, worth ~1.2x on the tiered serving benchmark against the same keys scrambled."""
    hb = req.hash_block
    known = min(req.input_tokens, len(req.prefix_hashes) * hb) // block_size
    ends = np.arange(1, known + 1, dtype=np.uint64) * np.uint64(block_size)
    chains: list[int] = []
    prev = hash(("trace", hb))
    for hid in req.prefix_hashes[:-(-known * block_size // hb)]:  # the trace blocks the known blocks lie in
        prev = hash((prev, hid))
        chains.append(prev)
    traced = np.asarray(chains, dtype=np.int64).view(np.uint64)
    seeds = traced[(ends - np.uint64(1)) // np.uint64(hb)]
    return tuple((seeds * _KEY_MIX + ends).view(np.int64).tolist())
