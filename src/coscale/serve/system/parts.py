"""The requests a stage visit sends to its pool: lengths (fixed, or log-normal around the means),
and for agent turns the growing prompt with block names that make each turn's prompt a prefix of
the next one's (and the system prompt a prefix shared by every task).

Block names follow `Request.prefix_hashes` (content ids of consecutive `HASH_BLOCK`-token blocks,
chained by the engine): a task's prompt is [shared system prompt][task-specific tokens ...]; block i
of a task is named by the task for every turn, so turn k + 1 hits turn k's full prompt blocks when
they are still cached. Only prompt blocks are published to the cache (the engine's rule), so the
previous answer and the tool result are recomputed: they appear in the next prompt as new tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.serve.request import Request
from coscale.serve.system.spec import StageSpec

HASH_BLOCK = 16  # tokens per named block (a divisor of every engine block size here: 16, 32; SGLang's 1 is finer)
_SHARED = 1 << 40  # name spaces of block ids: shared system prompts, then per-task blocks
_TASK = 1 << 44


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentTask:
    """One agent task's lengths: the first prompt, each turn's output and the tool result appended."""

    task: int  # a unique id (names its blocks)
    graph: int
    first_prompt: int
    outputs: tuple[int, ...]
    tool_tokens: int
    shared_prefix: int

    def prompt(self, turn: int) -> int:
        return self.first_prompt + sum(self.outputs[:turn]) + turn * self.tool_tokens

    def hashes(self, turn: int) -> tuple[int, ...]:
        n = -(-self.prompt(turn) // HASH_BLOCK)
        shared = self.shared_prefix // HASH_BLOCK  # blocks wholly inside the system prompt
        return tuple(_SHARED + self.graph * (1 << 20) + i if i < shared else _TASK + self.task * (1 << 20) + i
                     for i in range(n))


def sample(rng: np.random.Generator, mean: int, sigma: float, n: int) -> list[int]:
    """`n` lengths: `mean` each when sigma is 0, else log-normal with that mean (at least 1)."""
    if sigma <= 0:
        return [mean] * n
    draws = rng.lognormal(np.log(mean) - sigma * sigma / 2.0, sigma, n)
    return np.maximum(np.rint(draws), 1).astype(np.int64).tolist()


def agent_task(rng: np.random.Generator, s: StageSpec, task: int, graph: int) -> AgentTask:
    first = sample(rng, s.input_tokens, s.length_sigma, 1)[0] + s.shared_prefix_tokens
    return AgentTask(task=task, graph=graph, first_prompt=first,
                     outputs=tuple(sample(rng, s.output_tokens, s.length_sigma, s.turns)),
                     tool_tokens=s.tool_tokens, shared_prefix=s.shared_prefix_tokens)


def agent_request(t: AgentTask, turn: int, rid: int, now: float) -> Request:
    return Request(rid=rid, arrival_s=now, input_tokens=t.prompt(turn), output_tokens=t.outputs[turn],
                   session_id=t.task, prefix_hashes=t.hashes(turn), hash_block=HASH_BLOCK)


def longest_agent_context(s: StageSpec) -> int:
    """Tokens of the last turn (prompt + output) at the mean lengths."""
    return s.shared_prefix_tokens + s.input_tokens + s.turns * s.output_tokens + (s.turns - 1) * s.tool_tokens
