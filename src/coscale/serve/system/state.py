"""The mutable state of one simulated run: each graph request and each of its stages."""

from __future__ import annotations

from dataclasses import dataclass, field

from coscale.serve.system.parts import AgentTask


@dataclass(kw_only=True, slots=True)
class StageRun:
    """One stage of one graph request. Parallel parts (a reranker's K passages) count their longest
    wait and service; an agent's turns add up, tool time included in its service."""

    ready_s: float = -1.0
    done_s: float = -1.0
    parts_left: int = 0
    visits: int = 0  # requests sent to the pool
    service_s: float = 0.0
    queue_s: float = 0.0
    prompt_tokens: int = 0
    hit_tokens: int = 0  # prompt tokens served from the prefix cache
    first_token_s: float = -1.0  # when its last part to start answering sampled its first token
    turn: int = 0
    turn_hits: list[int] = field(default_factory=list)  # agent: cache-hit tokens of each turn
    turn_prompts: list[int] = field(default_factory=list)
    task: AgentTask | None = None


@dataclass(kw_only=True, slots=True)
class GraphRun:
    gid: int
    graph: int
    arrival_s: float
    stages: list[StageRun]
    deps_left: list[int]
    remaining: int
    finish_s: float = -1.0
