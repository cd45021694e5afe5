"""A system-of-models scenario as frozen values: pools (one model each, on their own chips) and
request graphs whose stages run on those pools, plus how requests arrive.

Stage kinds:
- `encode`: an encoder pass (embedding model, cross-encoder reranker): `fanout` sequences of
  `input_tokens` each (a reranker scores K passages: K sequences), prefill only, no decode.
- `generate`: one LLM call of `input_tokens` prompt tokens and `output_tokens` generated ones (a
  text-to-speech decoder is a `generate` stage whose output tokens are audio codes).
- `asr`: speech recognition on an encoder-decoder pool (Whisper): one encoder pass over the audio
  window, then a decoder prompt of `input_tokens` and `output_tokens` transcript tokens.
- `delay`: a fixed latency of `seconds` on no pool (vector search, a network hop).
- `agent`: `turns` LLM calls of one task; between them a tool runs for `tool_s` and the context
  grows by the call's output plus `tool_tokens`; every call's prompt starts with the previous
  one's (and `shared_prefix_tokens` of system prompt common to all tasks), so the pool's prefix
  cache can serve it.

A stage runs when every stage in its `after` has finished (default: the stage listed before it;
`after = []` makes it start at the request's arrival). Graphs must be acyclic: a loop is an `agent`.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGE_KINDS = ("encode", "generate", "asr", "delay", "agent")
POOL_KINDS = ("encode", "generate", "asr", "agent")  # the kinds that run on a pool


@dataclass(frozen=True, kw_only=True, slots=True)
class PoolSpec:
    """One model served by `gpus` GPUs of one chip (replicas of tp x pp GPUs) with one engine."""

    name: str
    model: str
    hardware: str = "h100-sxm"
    gpus: int | None = None  # default: one replica (tp x pp)
    tp: int = 1
    pp: int = 1
    precision: str = "bf16"
    kv_precision: str | None = None
    engine: str = "vllm"
    max_num_seqs: int | None = None
    max_batched_tokens: int | None = None
    chunked_prefill: bool | None = None  # None: the engine's default
    gpu_memory_utilization: float | None = None
    num_gpu_blocks: int | None = None
    host_overhead_s: float | None = None
    prefix_caching: bool = True
    router: str = "least_loaded"


@dataclass(frozen=True, kw_only=True, slots=True)
class StageSpec:
    name: str
    kind: str
    after: tuple[str, ...]
    pool: str | None = None  # the pool that runs it (or `model`: the pool serving that model)
    model: str | None = None
    input_tokens: int = 1
    output_tokens: int = 1
    fanout: int = 1
    seconds: float = 0.0
    turns: int = 1
    tool_s: float = 0.0
    tool_tokens: int = 0
    shared_prefix_tokens: int = 0
    length_sigma: float = 0.0  # log-normal spread of input and output lengths around their means (0: fixed)


@dataclass(frozen=True, kw_only=True, slots=True)
class GraphSpec:
    name: str
    share: float  # relative weight among arriving requests
    stages: tuple[StageSpec, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemScenario:
    name: str
    pools: tuple[PoolSpec, ...]
    graphs: tuple[GraphSpec, ...]
    rate: float | None = None  # graph requests per second (Poisson), all graphs together
    concurrency: int | None = None  # closed loop: clients each running one request after another
    num_requests: int = 200
    seed: int = 0
