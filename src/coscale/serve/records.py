"""Per-request results as arrays (one entry per finished request, in request-id order)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestArrays:
    arrival_s: np.ndarray
    scheduled_s: np.ndarray
    first_token_s: np.ndarray
    finish_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    hit_tokens: np.ndarray
    prefilled: np.ndarray
    decoded: np.ndarray
    preemptions: np.ndarray
    recomputed: np.ndarray

    def select(self, keep: np.ndarray | slice) -> RequestArrays:
        """The requests that `keep` (a boolean mask, indices or a slice) picks."""
        return RequestArrays(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    @property
    def ttft(self) -> np.ndarray:
        return self.first_token_s - self.arrival_s

    @property
    def e2e(self) -> np.ndarray:
        return self.finish_s - self.arrival_s

    @property
    def queue(self) -> np.ndarray:
        return self.scheduled_s - self.arrival_s

    @property
    def tpot(self) -> np.ndarray:
        """Per request with more than one output token."""
        multi = self.output_tokens > 1
        return (self.finish_s[multi] - self.first_token_s[multi]) / (self.output_tokens[multi] - 1)

    @property
    def tpot_all(self) -> np.ndarray:
        """Per request, NaN where there is a single output token."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.output_tokens > 1,
                            (self.finish_s - self.first_token_s) / np.maximum(self.output_tokens - 1, 1), np.nan)
