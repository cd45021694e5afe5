"""Post-training quantization of a BF16-trained lab model: round-to-nearest schemes and GPTQ.

Only the linear layers inside the blocks are quantized (the LM head and embeddings stay BF16, as
in common W4/W8 deployments). Activations follow the scheme: 8-bit per-tensor formats and the
4-bit microscaled formats (MXFP4, NVFP4) quantize both operands (W8A8 / W4A4, dynamic activation
scales), while grouped INT4 is weight-only (W4A16), as GPTQ/AWQ checkpoints are served.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from coscale.errors import CoscaleError
from coscale.lab.gptq import gptq_quantize, hessian_from_inputs
from coscale.lab.layers import Bf16Linear
from coscale.lab.model import LabLM
from coscale.numerics import fake_quant, quantize


@dataclass(frozen=True, kw_only=True, slots=True)
class PtqScheme:
    name: str
    weight: str  # numerics scheme for the weights
    activation: str | None  # numerics scheme for the linear inputs, None = BF16 activations
    method: Literal["rtn", "gptq"] = "rtn"

    @property
    def label(self) -> str:
        return f"{self.method.upper()} W:{self.weight} A:{self.activation or 'bf16'}"


PTQ_SCHEMES = (
    PtqScheme(name="int8_channel", weight="int8_channel", activation="int8_tensor"),
    PtqScheme(name="fp8_e4m3_tensor", weight="fp8_e4m3_tensor", activation="fp8_e4m3_tensor"),
    PtqScheme(name="int4_group128", weight="int4_group128", activation=None),
    PtqScheme(name="mxfp4", weight="mxfp4", activation="mxfp4"),
    PtqScheme(name="nvfp4", weight="nvfp4", activation="nvfp4"),
    PtqScheme(name="gptq_int4_group128", weight="int4_group128", activation=None, method="gptq"),
)


def get_ptq_scheme(name: str) -> PtqScheme:
    for scheme in PTQ_SCHEMES:
        if scheme.name == name:
            return scheme
    raise CoscaleError(f"unknown PTQ scheme {name!r}; choose one of {', '.join(s.name for s in PTQ_SCHEMES)}")


class PtqLinear(Bf16Linear):
    """A linear holding an already quantized-dequantized weight and fake-quantizing its input.

    The GEMM runs in FP32 on the exact dequantized operands (re-rounding them to BF16 would perturb
    the quantized values GPTQ compensated for); the input stays BF16 for weight-only schemes and
    the output is rounded to BF16 as in `Bf16Linear`."""

    def __init__(self, source: torch.nn.Linear, weight: torch.Tensor, activation: str | None) -> None:
        super().__init__(source.in_features, source.out_features, bias=source.bias is not None)
        self.activation = activation
        with torch.no_grad():
            self.weight.copy_(weight)
            if source.bias is not None:
                self.bias.copy_(source.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = fake_quant(x, self.activation) if self.activation is not None else x.bfloat16().float()
        return F.linear(x, self.weight, self.bias).bfloat16().float()


def block_linears(model: LabLM) -> list[tuple[str, torch.nn.Linear]]:
    return [(f"blocks.{name}", m) for name, m in model.blocks.named_modules() if isinstance(m, torch.nn.Linear)]


@torch.no_grad()
def calibration_hessians(model: LabLM, batches: list[torch.Tensor]) -> dict[str, tuple[torch.Tensor, int]]:
    """Per-linear sum of X^T X of its (BF16-rounded) inputs over the calibration batches."""
    inputs: dict[str, list[torch.Tensor]] = {name: [] for name, _ in block_linears(model)}
    hooks = [
        m.register_forward_pre_hook(lambda _m, args, n=name: inputs[n].append(args[0].bfloat16().float()))
        for name, m in block_linears(model)
    ]
    try:
        for tokens in batches:
            model(tokens)
            model.take_aux_loss()
    finally:
        for hook in hooks:
            hook.remove()
    return {name: hessian_from_inputs(xs) for name, xs in inputs.items()}


def quantize_model(model: LabLM, scheme: PtqScheme, *, calibration: list[torch.Tensor] | None = None) -> LabLM:
    """A quantized copy of `model` (the original is untouched)."""
    qmodel = copy.deepcopy(model).eval()
    hessians = {}
    if scheme.method == "gptq":
        if not calibration:
            raise CoscaleError("GPTQ needs calibration batches")
        hessians = calibration_hessians(qmodel, calibration)
    for name, linear in block_linears(qmodel):
        w = linear.weight.detach()
        if scheme.method == "gptq":
            h, rows = hessians[name]
            bits, group = _int_group_params(scheme.weight)
            wq = (
                gptq_quantize(w, h / max(rows, 1) * 2, bits=bits, group=group)
                if rows
                else quantize(w, scheme.weight).dequantize()
            )
        else:
            wq = quantize(w, scheme.weight).dequantize().to(w.dtype)
        parent, _, attr = name.rpartition(".")
        setattr(qmodel.get_submodule(parent), attr, PtqLinear(linear, wq, scheme.activation))
    return qmodel


def _int_group_params(weight_scheme: str) -> tuple[int, int]:
    """(bits, group) of an `int<b>_group<g>` scheme name; GPTQ supports only those."""
    head, _, group = weight_scheme.partition("_group")
    if not head.startswith("int") or not group.isdigit():
        raise CoscaleError(f"GPTQ supports int<b>_group<g> weight schemes, not {weight_scheme!r}")
    return int(head[3:]), int(group)


def weight_error(model: LabLM, qmodel: LabLM) -> float:
    """Relative Frobenius error of all block-linear weights (a sanity figure for the report)."""
    num = den = 0.0
    for (_, a), (_, b) in zip(block_linears(model), block_linears(qmodel), strict=True):
        num += F.mse_loss(b.weight.float(), a.weight.float(), reduction="sum").item()
        den += a.weight.float().pow(2).sum().item()
    return (num / den) ** 0.5
