"""Achievable fractions of peak, per chip family, each constant with its provenance.

The model itself is a spec value (`coscale.specs.efficiency.EfficiencyModel`); the per-family data
lives in `coscale/hardware/efficiency/<family>.json` and is attached to each chip
(`HardwareSpec.efficiency`) by the catalog loader. This module is the cost layer's import path.
"""

from coscale.specs.efficiency import (
    AttentionFractions,
    EfficiencyModel,
    FieldSource,
    GemmFractions,
    efficiency_paths,
)

__all__ = ["AttentionFractions", "EfficiencyModel", "FieldSource", "GemmFractions", "efficiency_paths"]
