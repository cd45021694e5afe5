"""Scheduler policies as frozen configuration: which requests a forward pass holds.

- `decode_first`: vLLM V1 / TensorRT-LLM in-flight batching. Running requests first (decodes and
  unfinished prefill chunks, in admission order) under a token budget of `max_batched_tokens`, then
  waiting requests FCFS while the budget, `max_num_seqs` and free KV blocks allow; the last prompt
  admitted is chunked to the budget when `chunked_prefill`.
- `prefill_first`: SGLang's default. A step runs the prefill of waiting (and partly prefilled)
  requests alone when there are any that fit; decodes run only in steps with no prefill.
- `static`: request-level batching of old engines: a batch is admitted when the instance is empty and
  runs until its last request finishes.

Preemption when the KV pool runs out while running requests grow: the victim loses its blocks and
is recomputed later (`newest`: the most recently admitted, vLLM V1; `fewest_output`: the request with
the fewest generated tokens, SGLang's retract order). `reserve_full` admits a request only when
blocks for its whole input + output are free (TensorRT-LLM GUARANTEED_NO_EVICT), so nothing is preempted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coscale.errors import CoscaleError

Policy = Literal["decode_first", "prefill_first", "static"]
Victim = Literal["newest", "fewest_output"]
POLICIES = ("decode_first", "prefill_first", "static")
VICTIMS = ("newest", "fewest_output")

MAX_NUM_SEQS = 2**20  # batch slots of one instance (the engine keeps arrays of that length per instance)


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulerConfig:
    policy: Policy = "decode_first"
    max_num_seqs: int = 256
    max_batched_tokens: int = 8192
    chunked_prefill: bool = True
    victim: Victim = "newest"
    reserve_full: bool = False
    prefix_caching: bool = True
    host_overhead_s: float = 0.0  # per forward pass: scheduling, sampling, detokenising, API server

    def one_step_tokens(self, input_tokens, output_tokens):
        """Tokens of a request that one step must hold without chunked prefill: its prompt, and, where a
        preempted request recomputes prompt + output, those too (reserve_full preempts nothing).
        Works on ints and on numpy arrays alike."""
        return input_tokens if self.reserve_full else input_tokens + output_tokens

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise CoscaleError(f"unknown scheduler policy '{self.policy}'; use one of {', '.join(POLICIES)}.")
        if self.victim not in VICTIMS:
            raise CoscaleError(f"unknown preemption victim order '{self.victim}'; use one of {', '.join(VICTIMS)}.")
        if self.max_num_seqs < 1 or self.max_batched_tokens < 1:
            raise CoscaleError(f"--max-num-seqs and --max-batched-tokens must be >= 1, got "
                               f"{self.max_num_seqs} and {self.max_batched_tokens}.")
        if self.max_num_seqs > MAX_NUM_SEQS:
            raise CoscaleError(f"--max-num-seqs {self.max_num_seqs:,} is more than the {MAX_NUM_SEQS:,} batch slots an "
                               f"instance keeps in memory; give fewer.")
        if not self.host_overhead_s >= 0:
            raise CoscaleError(f"host overhead per step must be >= 0 s, got {self.host_overhead_s}.")
