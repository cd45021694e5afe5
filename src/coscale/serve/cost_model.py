"""What the engine needs from a step-cost model: the time and energy of one forward pass of a batch.

`decode_contexts` are the tokens already cached for each decoding sequence (its KV length before the
step); a prefill chunk of `prefill_new` tokens extends a cached prefix of `prefill_prefix` tokens.
`decode_run` costs `steps` consecutive pure-decode steps whose contexts grow by one token each; a
model must return for step j exactly what `decode_run(decode_contexts + j, 1)[0]` returns, which is
what lets the engine advance a stable decode batch many steps at once with identical results.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class StepCostModel(Protocol):
    def step(self, decode_contexts: np.ndarray, prefill_new: np.ndarray,
             prefill_prefix: np.ndarray, group_tokens: float | None = None) -> tuple[float, float]:
        """(time_s, energy_j) of one forward pass of the whole instance (of one attention-DP rank, whose
        lock-step group carries `group_tokens` tokens together when given; a model without MoE experts
        shared by ranks ignores it)."""
        ...

    def decode_run(self, decode_contexts: np.ndarray, steps: int,
                   group_tokens: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(time_s, energy_j) arrays of `steps` pure-decode steps."""
        ...
