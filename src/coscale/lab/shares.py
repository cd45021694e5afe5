"""How much of a lab model a recipe really runs in its low-precision format.

Two shares per recipe, both read off the model as built (`apply_recipe`'s plan), not assumed:
- weights: parameters of the quantized linears / all parameters (embedding, LM head, norms, the
  MoE router, Mamba's conv and scan parameters included: those always stay high precision);
- GEMM FLOPs: FLOPs of the quantized linears' GEMMs / all matrix-multiply FLOPs of one training
  step (forward and backward), counted by `torch.utils.flop_counter.FlopCounterMode` on a real
  batch: the LM head, the attention BMMs and the SSD scan's matmuls are in the denominator, and MoE
  experts count the tokens actually routed to them. Convolutions are not GEMMs and are left out.
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


def linear_census(model: LabLM, tokens: torch.Tensor) -> LinearCensus:
    """Count one training step of `model` (left unchanged: gradients are cleared afterwards)."""
    prefix = type(model).__name__ + "."
    with FlopCounterMode(display=False) as counter:
        loss, _ = model.loss(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
    model.zero_grad(set_to_none=True)
    counts = counter.get_flop_counts()
    linears = {
        name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and name.startswith("blocks.")
    }
    flops = {
        name: float(sum(v for op, v in counts.get(prefix + name, {}).items() if _is_gemm(op))) for name in linears
    }
    total = float(sum(v for op, v in counts.get("Global", {}).items() if _is_gemm(op)))
    return LinearCensus(
        params={name: sum(p.numel() for p in m.parameters()) for name, m in linears.items()},
        flops=flops,
        total_params=sum(p.numel() for p in model.parameters()),
        total_flops=total,
    )
