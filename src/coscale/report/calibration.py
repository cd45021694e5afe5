"""`coscale calibrate`: measured vs predicted (by the chip's shipped family) per kernel, and the fitted fields."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from coscale.calibrate.measurement import Measurement
from coscale.specs.efficiency import EfficiencyModel
from coscale.specs.hardware import HardwareSpec
from coscale.validation.kernels import predict_attention, predict_copy, predict_gemm


def _predicted(m: Measurement, hw: HardwareSpec, eff: EfficiencyModel) -> tuple[float | None, str]:
    """(predicted rate, unit) of the shipped model for what was measured; None where it has no predictor."""
    if m.kind == "gemm" and hw.compute.supports(m.compute_class):
        mm, n, k = m.shape
        check = {"m": mm, "n": n, "k": k, "compute_class": m.compute_class, "hardware": hw.id}
        return predict_gemm(check, eff), "TFLOP/s"
    if m.kind == "attention" and hw.compute.supports(m.compute_class):
        b, h, s, d = m.shape
        check = {"seq": s, "head_dim": d, "heads": h, "batch": b, "causal": True, "compute_class": m.compute_class,
                 "hardware": hw.id}
        return predict_attention(check, eff), "TFLOP/s"
    if m.kind == "copy":
        return predict_copy({"bytes": m.shape[0], "hardware": hw.id}, eff), "GB/s"
    return None, "TFLOP/s" if m.kind in ("gemm", "attention") else "GB/s"


def calibration_rows(measurements: list[Measurement], hw: HardwareSpec, eff: EfficiencyModel) -> list[dict[str, Any]]:
    rows = []
    for m in measurements:
        predicted, unit = _predicted(m, hw, eff)
        measured = m.flops_per_s / 1e12 if unit == "TFLOP/s" else m.bytes_per_s / 1e9
        rows.append({"name": m.name, "kind": m.kind, "measured": measured, "predicted": predicted, "unit": unit,
                     "seconds": m.seconds,
                     "ratio_predicted_to_measured": (predicted / measured) if predicted else None})
    return rows


def print_calibration(doc: dict[str, Any], rows: list[dict[str, Any]], out: str | None, console: Console) -> None:
    prov = doc["provenance"]
    console.print(f"[bold]coscale calibrate[/] on {prov['chip']} ({prov['device']}; driver {prov['driver']}; torch "
                  f"{prov['torch']}; {prov['date']}); rates as fractions of catalog chip {prov['hardware']}")
    t = Table(title=f"measured vs predicted by the shipped {doc['borrows']} family")
    for col in ("kernel", "measured", "predicted", "unit", "predicted / measured"):
        t.add_column(col, justify="left" if col == "kernel" else "right")
    for r in rows:
        pred = "-" if r["predicted"] is None else f"{r['predicted']:,.4g}"
        ratio = "-" if r["ratio_predicted_to_measured"] is None else f"{r['ratio_predicted_to_measured']:.2f}"
        t.add_row(r["name"], f"{r['measured']:,.4g}", pred, r["unit"], ratio)
    console.print(t)
    f = Table(title=f"fitted fields of family {doc['family']}")
    f.add_column("field")
    f.add_column("value", justify="right")
    for path, entry in doc["fields"].items():
        f.add_row(path, f"{entry['value']:.4g}")
    console.print(f)
    for line in doc["skipped"]:
        console.print(f"[yellow]skipped:[/] {line}")
    for note in doc["notes"]:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"written to {out}; use it with --efficiency {out}" if out else "not written (pass --out FILE)")
