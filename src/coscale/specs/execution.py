"""How a model runs: parallel layout and request shapes. Validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.feasibility.scalar import layout_violations, positive_violations
from coscale.feasibility.violation import raise_if_any


@dataclass(frozen=True, kw_only=True, slots=True)
class Parallelism:
    """Inference layout. `ep` shards MoE experts over `ep` GPUs while attention runs data-parallel
    across those same GPUs (attention-DP + EP); GPUs beyond tp*pp (or ep) serve independent replicas."""

    gpus: int = 1
    tp: int = 1
    pp: int = 1
    ep: int = 1

    def __post_init__(self) -> None:
        raise_if_any(layout_violations(None, tp=self.tp, pp=self.pp, ep=self.ep, gpus=self.gpus))

    @property
    def instance_gpus(self) -> int:
        """GPUs that hold one copy of the weights."""
        return max(self.tp, self.ep) * self.pp

    @property
    def attention_dp(self) -> int:
        """Data-parallel attention groups inside one instance (attention-DP + EP)."""
        return max(self.ep // self.tp, 1)

    @property
    def pass_gpus(self) -> int:
        """GPUs that run one forward pass of a step: the instance, or with attention-DP + EP one DP rank
        (each rank runs its own step; the others run theirs)."""
        return self.instance_gpus // self.attention_dp

    @property
    def replicas(self) -> int:
        return self.gpus // self.instance_gpus


@dataclass(frozen=True, kw_only=True, slots=True)
class InferenceRequest:
    """A fixed-shape workload: every request has `input_len` prompt tokens and `output_len` outputs."""

    input_len: int
    output_len: int

    def __post_init__(self) -> None:
        raise_if_any(positive_violations({"request.input_len": self.input_len,
                                          "request.output_len": self.output_len}))
