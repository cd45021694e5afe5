"""Error bands on the headline metrics of a prediction: `error_band_80` in --json, one line in the tables.

The band comes from the validation residuals of the prediction's category (chip family x phase x model
kind, coarser when a cell has too few cases; `coscale.validation.bands`)."""

from __future__ import annotations

from typing import Any

from coscale.validation.bands import BandKey, ErrorBand, Kind, band_for, load_residuals, model_kind


def error_band(family: str, phase: str, model: Any) -> ErrorBand | None:
    return band_for(BandKey(family=family, phase=phase, model_kind=model_kind(model)), load_residuals())


def bands_dict(band: ErrorBand | None, metrics: dict[str, tuple[float, Kind]]) -> dict[str, Any] | None:
    """{metric: {low, high}} plus where the band came from; None when no group has enough cases."""
    if band is None:
        return None
    out: dict[str, Any] = {name: band.as_dict(value, kind) for name, (value, kind) in metrics.items()}
    out["group"] = band.group
    out["cases"] = band.cases
    out["level"] = band.level
    return out


def band_text(band: dict[str, Any] | None, metric: str, fmt: str, scale: float = 1.0) -> str:
    """' (80 % band low-high)' for a table cell, or '' when there is no band."""
    if band is None:
        return ""
    b = band[metric]
    return f" ({band['level']:.0%} band {b['low'] * scale:{fmt}}-{b['high'] * scale:{fmt}})"


def band_caption(band: dict[str, Any] | None) -> str:
    if band is None:
        return "no error band: too few validation cases in any group of this category"
    return (f"{band['level']:.0%} error band from {band['cases']} out-of-sample validation cases of "
            f"{band['group']} (coscale validate)")
