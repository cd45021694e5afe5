"""Model FLOPs per sample in the published convention, from the same operator list.

Megatron (Narayanan et al. 2021 eq. 3, Korthikanti et al. 2022 Sec. 6) and NVIDIA's DGXC READMEs
count 3x the forward matmul FLOPs (forward, dgrad, wgrad) of every projection, the LM head over all
tokens and the attention score/value products *without* the causal discount, i.e. 6*N*tokens +
12*s^2*h*L for a dense GPT. Elementwise work is not counted. MFU divides this by time and peak;
Narayanan's "achieved TFLOP/s" adds what recomputation re-runs in the same convention
(`published_hardware`). HFU and hardware TFLOP/s count what the GPU executes instead (`executed`:
causal attention at its executed size, plus recompute), so they never exceed the peak: at long
sequences the convention counts up to twice the attention work the kernels do, and MFU may then
exceed HFU by construction of the convention.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from coscale.specs.hardware import HardwareSpec
from coscale.specs.model import ModelSpec
from coscale.train.layout import Recompute, TrainOptions
from coscale.train.passes import ShardKey, head_forward_ops, layer_forward_ops, training_pass
from coscale.train.precision import TrainingPrecision
from coscale.workload.ops import Op

_COUNTED = ("gemm", "grouped_gemm", "attention", "ssm")


def _convention_flops(op: Op, seq_len: int) -> float:
    if op.kind not in _COUNTED:
        return 0.0
    if op.kind == "attention" and op.attn_len > 0:
        return op.flops * op.count * min(seq_len / op.attn_len, 2.0)  # causal mask counted in full
    return op.flops * op.count


def _executed_flops(op: Op) -> float:
    return op.flops * op.count if op.kind in _COUNTED else 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class SampleFlops:
    """Forward FLOPs of one sequence, by part, in the published convention."""

    layers_forward: float
    attention_forward: float  # the part selective recompute re-runs
    head_forward: float
    layers_executed: float  # the same forward work as the kernels run it (causal attention halved)
    attention_executed: float
    head_executed: float

    @property
    def model(self) -> float:
        """Forward + backward = 3x forward."""
        return 3.0 * (self.layers_forward + self.head_forward)

    def published_hardware(self, recompute: Recompute) -> float:
        """Narayanan's 'achieved' count: the convention plus the recomputed forward, in the convention."""
        extra = {"none": 0.0, "selective": self.attention_forward, "full": self.layers_forward}[recompute]
        return self.model + extra

    @property
    def model_executed(self) -> float:
        return 3.0 * (self.layers_executed + self.head_executed)

    def executed(self, recompute: Recompute) -> float:
        """Matmul FLOPs the GPU runs per sample: forward + backward + what recompute re-runs."""
        extra = {"none": 0.0, "selective": self.attention_executed, "full": self.layers_executed}[recompute]
        return self.model_executed + extra


def sample_flops(model: ModelSpec, seq_len: int, hardware: HardwareSpec, precision: TrainingPrecision) -> SampleFlops:
    key = ShardKey(tp=1, cp=1, ep=1, micro_batch=1, seq_len=seq_len)
    p = training_pass(key, hardware, precision)
    layers = attention = layers_x = attention_x = 0.0
    for layer, n in Counter(model.layers).items():
        for op in layer_forward_ops(model, layer, p, key, precision, TrainOptions()):
            f = _convention_flops(op, seq_len) * n
            x = _executed_flops(op) * n
            layers, layers_x = layers + f, layers_x + x
            if op.kind == "attention":
                attention, attention_x = attention + f, attention_x + x
    _, last = head_forward_ops(model, p)
    head = sum(_convention_flops(op, seq_len) for op in last)
    head_x = sum(_executed_flops(op) for op in last)
    return SampleFlops(layers_forward=layers, attention_forward=attention, head_forward=head,
                       layers_executed=layers_x, attention_executed=attention_x, head_executed=head_x)
