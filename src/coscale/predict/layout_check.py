"""Reject inference layouts the model cannot be sharded with: the shared feasibility rules."""

from __future__ import annotations

from coscale.feasibility import raise_if_any
from coscale.feasibility.scalar import layout_violations
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.model import ModelSpec


def check_layout(model: ModelSpec, par: Parallelism) -> None:
    """Raise `InfeasibleError` (a CoscaleError) naming the first broken rule and its fix."""
    raise_if_any(layout_violations(model, tp=par.tp, pp=par.pp, ep=par.ep, gpus=par.gpus))


def check_request(model: ModelSpec, par: Parallelism, request: InferenceRequest) -> None:
    """`check_layout` plus the request's context length against max_position_embeddings."""
    raise_if_any(layout_violations(model, tp=par.tp, pp=par.pp, ep=par.ep, gpus=par.gpus,
                                   context_len=request.input_len + request.output_len))
