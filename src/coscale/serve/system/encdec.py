"""Step cost of an encoder-decoder instance (Whisper): the decoder's step from its step-cost table,
plus one encoder pass over the audio window of every request whose decoder prefill starts in this
step (a prefill chunk on no cached prefix), batched as one encoder forward pass. Both passes are
costed by the core step contract (`step_cost` on the encoder's own plan); they run back to back on
the same GPUs, so their times and energies add."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.cost.plan import ExecutionPlan
from coscale.cost.step import step_cost
from coscale.serve.cost_model import StepCostModel
from coscale.workload.shape import StepShape


@dataclass(kw_only=True, slots=True)
class EncoderDecoderCost:
    decoder: StepCostModel
    encoder: ExecutionPlan
    window: int  # encoder positions per request (Whisper: 1500 per 30 s of audio)
    _passes: dict[int, tuple[float, float]] = field(default_factory=dict)

    def encoder_pass(self, requests: int) -> tuple[float, float]:
        """(time_s, energy_j) of one encoder pass over `requests` audio windows (exact, memoised)."""
        hit = self._passes.get(requests)
        if hit is None:
            c = step_cost(self.encoder, StepShape.uniform(prefill_seqs=requests, prefill_new=self.window))
            hit = (float(c.time_s), float(c.energy_j))
            self._passes[requests] = hit
        return hit

    def step(self, decode_contexts: np.ndarray, prefill_new: np.ndarray,
             prefill_prefix: np.ndarray, group_tokens: float | None = None) -> tuple[float, float]:
        t, e = self.decoder.step(decode_contexts, prefill_new, prefill_prefix, group_tokens)
        starting = int(np.count_nonzero(prefill_prefix == 0))
        if starting:
            te, ee = self.encoder_pass(starting)
            t, e = t + te, e + ee
        return t, e

    def decode_run(self, decode_contexts: np.ndarray, steps: int,
                   group_tokens: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.decoder.decode_run(decode_contexts, steps, group_tokens)
