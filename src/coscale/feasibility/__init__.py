"""One feasibility rule set for every consumer: violations as data (scalar) or a mask (arrays)."""

from coscale.feasibility.codes import CODES, OK, code_index
from coscale.feasibility.facts import ModelFacts, model_facts
from coscale.feasibility.mask import layout_mask
from coscale.feasibility.scalar import layout_violations
from coscale.feasibility.violation import InfeasibleError, Violation, raise_if_any

__all__ = [
    "CODES",
    "OK",
    "InfeasibleError",
    "ModelFacts",
    "Violation",
    "code_index",
    "layout_mask",
    "layout_violations",
    "model_facts",
    "raise_if_any",
]
