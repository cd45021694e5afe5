"""How a model runs: parallel layout and request shapes. Validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError


def _positive(**values: int) -> None:
    for name, value in values.items():
        if value is None or value < 1:
            raise CoscaleError(f"--{name.replace('_', '-')} must be a positive integer, got {value}.")


@dataclass(frozen=True, kw_only=True, slots=True)
class Parallelism:
    """Inference layout. `ep` shards MoE experts over `ep` GPUs while attention runs data-parallel
    across those same GPUs (attention-DP + EP); GPUs beyond tp*pp (or ep) serve independent replicas."""

    gpus: int = 1
    tp: int = 1
    pp: int = 1
    ep: int = 1

    def __post_init__(self) -> None:
        _positive(gpus=self.gpus, tp=self.tp, pp=self.pp, ep=self.ep)
        if self.gpus % self.instance_gpus:
            raise CoscaleError(
                f"--gpus {self.gpus} is not divisible by the GPUs of one model instance "
                f"({self.instance_gpus} = max(tp*pp, ep*pp)); use a multiple of {self.instance_gpus}."
            )
        if self.ep > 1 and self.ep % self.tp:
            raise CoscaleError(f"--ep {self.ep} must be a multiple of --tp {self.tp} (attention-DP groups).")

    @property
    def instance_gpus(self) -> int:
        """GPUs that hold one copy of the weights."""
        return max(self.tp, self.ep) * self.pp

    @property
    def attention_dp(self) -> int:
        """Data-parallel attention groups inside one instance (attention-DP + EP)."""
        return max(self.ep // self.tp, 1)

    @property
    def replicas(self) -> int:
        return self.gpus // self.instance_gpus


@dataclass(frozen=True, kw_only=True, slots=True)
class InferenceRequest:
    """A fixed-shape workload: every request has `input_len` prompt tokens and `output_len` outputs."""

    input_len: int
    output_len: int

    def __post_init__(self) -> None:
        _positive(input_len=self.input_len, output_len=self.output_len)
