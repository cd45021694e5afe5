"""How much of a lab model a recipe really runs in its low-precision format.

Two shares per recipe, both read off the model as built (`apply_recipe`'s plan), not assumed:
- weights: parameters of the quantized linears / all parameters (embedding, LM head, norms, the
  MoE router, Mamba's conv and scan parameters included: those always stay high precision);
- GEMM FLOPs: FLOPs of the quantized linears' GEMMs / all matrix-multiply FLOPs of one training
  step (forward and backward) on a real batch. The denominator is every `mm` / `bmm` that
  `torch.utils.flop_counter.FlopCounterMode` counts over the step (the LM head, the attention BMMs
  and the SSD scan's matmuls included; convolutions are not GEMMs and are left out). A linear's own
  FLOPs are its three GEMMs (Fprop, Dgrad, Wgrad), 2 x 3 x rows x in x out, from the rows it really
  received in the forward pass (an MoE expert: the tokens routed to it). The counter's per-module
  split is not used: in the backward pass it attributes sibling MoE experts' GEMMs cumulatively
  (measured on `ci`: the fourth expert's up-projection 62.4 M FLOPs against 14.2 M from its routed
  rows), which put the FP8 share at 98 % instead of 86 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from coscale.lab.model import LabLM


@dataclass(frozen=True, kw_only=True, slots=True)
class LinearCensus:
    """Per-linear parameter and GEMM-FLOP counts of one model, and the model totals."""

    params: dict[str, int]  # module path -> weight (+ bias) elements
    flops: dict[str, float]  # module path -> GEMM FLOPs of one forward + backward
    total_params: int
    total_flops: float

    def shares(self, plan: dict[str, str]) -> dict[str, float]:
        """{'weights', 'gemm_flops'}: the fractions a recipe's plan quantizes."""
        quant = [path for path, kind in plan.items() if kind == "quant"]
        return {
            "weights": sum(self.params[p] for p in quant) / self.total_params,
            "gemm_flops": sum(self.flops.get(p, 0.0) for p in quant) / self.total_flops,
        }


def _is_gemm(op: object) -> bool:
    return "convolution" not in str(op)


GEMMS_PER_LINEAR = 3  # Fprop, Dgrad and Wgrad: every block linear's input requires grad (it follows the embedding)


def linear_census(model: LabLM, tokens: torch.Tensor) -> LinearCensus:
    """Count one training step of `model` (left unchanged: gradients are cleared afterwards)."""
    linears = {
        name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and name.startswith("blocks.")
    }
    rows = dict.fromkeys(linears, 0)

    def count_rows(name: str):
        def hook(module: torch.nn.Linear, args: tuple, _out: torch.Tensor) -> None:
            rows[name] += args[0].numel() // module.in_features

        return hook

    hooks = [m.register_forward_hook(count_rows(name)) for name, m in linears.items()]
    try:
        with FlopCounterMode(display=False) as counter:
            loss, _ = model.loss(tokens[:, :-1], tokens[:, 1:])
            loss.backward()
    finally:
        for h in hooks:
            h.remove()
    model.zero_grad(set_to_none=True)
    flops = {name: 2.0 * GEMMS_PER_LINEAR * rows[name] * m.in_features * m.out_features for name, m in linears.items()}
    total = float(sum(v for op, v in counter.get_flop_counts().get("Global", {}).items() if _is_gemm(op)))
    return LinearCensus(
        params={name: sum(p.numel() for p in m.parameters()) for name, m in linears.items()},
        flops=flops,
        total_params=sum(p.numel() for p in model.parameters()),
        total_flops=total,
    )
