"""Measurements -> efficiency fields: each measured rate divided by the chip's peak and by the shape
factor the cost model's own curve applies, so that the model, fed the file, reproduces the measurement.
Torch-free."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from coscale.calibrate.measurement import Measurement
from coscale.cost.curves import attention_efficiency, gemm_efficiency
from coscale.specs.efficiency import AttentionFractions, EfficiencyModel, GemmFractions
from coscale.specs.hardware import HardwareSpec

KIND_DETAIL = "measured by coscale calibrate"
_ATTN_CLASSES = ("bf16", "fp16", "fp8")


def _shape_factor(base: EfficiencyModel, m: Measurement, units: int) -> float:
    """Tile x wave fill (GEMM) or the keys ramp (attention) the base model applies at this shape."""
    one = replace(base, gemm_peak=GemmFractions(**{c: 1.0 for c in GemmFractions.__slots__}),
                  attention_peak=AttentionFractions(bf16=1.0, fp16=1.0, fp8=1.0))
    if m.kind == "gemm":
        mm, n, k = (float(x) for x in m.shape)
        return float(gemm_efficiency(one, m.compute_class, np.float64(mm), n, k, units))
    seq = m.shape[2]  # (batch, heads, seq, head_dim); causal: seq / 2 keys per query
    return float(attention_efficiency(one, m.compute_class, np.float64(seq / 2.0)))


def _gemm_peak(base: EfficiencyModel, m: Measurement, units: int, unit_rate: float, frac: float) -> tuple[float, float]:
    """(class peak, shape factor) with peak x shape = the measured fraction. The shape factor holds the
    K fill, which itself depends on the peak (a faster main loop hides less of the per-tile fixed
    time): a fixed point, reached in a few steps since the K fill moves far less than the peak."""
    mm, n, k = (float(x) for x in m.shape)
    peak = frac
    shape = 1.0
    for _ in range(60):
        model = replace(base, gemm_peak=replace(base.gemm_peak, **{m.compute_class: peak}))
        shape = float(gemm_efficiency(model, m.compute_class, np.float64(mm), n, k, units, unit_rate)) / peak
        peak = frac / shape
    return peak, shape


def _entry(value: float, m: Measurement, detail: str, provenance: dict[str, str]) -> dict[str, Any]:
    where = (f"{provenance.get('chip', '?')}, driver {provenance.get('driver', '?')}, "
             f"torch {provenance.get('torch', '?')}")
    return {"value": min(max(value, 1e-6), 1.0), "kind": "calibrated",
            "source": f"{KIND_DETAIL} on {where}, {provenance.get('date', '?')}: {detail}",
            "cases": [f"coscale-calibrate:{m.name}"]}


def fit_fields(measurements: list[Measurement], hw: HardwareSpec, base: EfficiencyModel,
               provenance: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Efficiency fields implied by the measurements (largest problem per class; fractions capped at 1)."""
    units = hw.compute.compute_units
    hbm = hw.memory.hbm.bandwidth_Bps
    fields: dict[str, dict[str, Any]] = {}
    squares = [m for m in measurements if m.kind == "gemm" and len(set(m.shape)) == 1]
    for cls in sorted({m.compute_class for m in squares}):
        if not hw.compute.supports(cls):
            continue
        m = max((x for x in squares if x.compute_class == cls), key=lambda x: x.flops)
        frac = m.flops_per_s / hw.compute.peak(cls)
        peak, shape = _gemm_peak(base, m, units, hw.compute.peak(cls) / units if units else 0.0, frac)
        fields[f"gemm_peak.{cls}"] = _entry(peak, m, f"{m.name} reached {m.flops_per_s / 1e12:.4g} TFLOP/s = "
                                            f"{frac:.3f} of the {hw.id} {cls} peak; curve shape factor {shape:.3f} "
                                            f"removed", provenance)
    skinny = [m for m in measurements if m.kind == "gemm" and m.shape[0] < min(m.shape[1:])]
    if skinny:
        m = max(skinny, key=lambda x: x.bytes_per_s)
        frac = m.bytes_per_s / hbm
        fields["memory_gemm"] = _entry(frac, m, f"{m.name} streamed {m.bytes_per_s / 1e9:.4g} GB/s = {frac:.3f} of "
                                       f"the {hw.id} HBM bandwidth", provenance)
    attn = [m for m in measurements if m.kind == "attention" and m.compute_class in _ATTN_CLASSES
            and hw.compute.supports(m.compute_class)]
    for cls in sorted({m.compute_class for m in attn}):
        m = max((x for x in attn if x.compute_class == cls), key=lambda x: x.flops)
        frac = m.flops_per_s / hw.compute.peak(cls)
        ramp = _shape_factor(base, m, units)
        fields[f"attention_peak.{cls}"] = _entry(frac / ramp, m, f"{m.name} reached {m.flops_per_s / 1e12:.4g} "
                                                 f"TFLOP/s = {frac:.3f} of the {hw.id} {cls} peak; keys ramp "
                                                 f"{ramp:.3f} removed", provenance)
    copies = [m for m in measurements if m.kind == "copy"]
    if copies:
        m = max(copies, key=lambda x: x.bytes)
        frac = m.bytes_per_s / hbm
        fields["memory_stream"] = _entry(frac, m, f"{m.name} moved {m.bytes_per_s / 1e9:.4g} GB/s (read + write) = "
                                         f"{frac:.3f} of the {hw.id} HBM bandwidth", provenance)
    return fields


def family_document(*, name: str, base: EfficiencyModel, hw: HardwareSpec, fields: dict[str, dict[str, Any]],
                    measurements: list[Measurement], skipped: list[str], provenance: dict[str, str]) -> dict[str, Any]:
    """The efficiency-family file `coscale calibrate` writes and `--efficiency FILE` reads."""
    return {
        "family": name,
        "description": f"Efficiency measured by coscale calibrate on {provenance.get('chip', '?')} "
                       f"(peaks of catalog chip {hw.id}).",
        "borrows": base.family,
        "borrows_why": f"fields coscale calibrate does not measure keep the {base.family} values",
        "fields": fields,
        "provenance": {**provenance, "hardware": hw.id, "kind": f"calibrated: {KIND_DETAIL}"},
        "measurements": [m.as_dict() for m in measurements],
        "skipped": skipped,
        "notes": [f"{KIND_DETAIL} on {provenance.get('device', '?')}; a CPU run checks the harness and measures "
                  "nothing about a GPU"] if provenance.get("device") == "cpu" else [],
    }
