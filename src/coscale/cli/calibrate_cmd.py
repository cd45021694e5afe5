"""`coscale calibrate`: microbenchmarks with torch -> an efficiency-family file (`--efficiency FILE` reads it).

torch is imported only when this command runs (inside `coscale.calibrate.bench`'s functions)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from coscale.calibrate.fit import family_document, fit_fields
from coscale.calibrate.measurement import Measurement
from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.outfile import check_out_file
from coscale.report.calibration import calibration_rows, print_calibration
from coscale.report.console import make_console, print_json


def calibrate(
    device: str = typer.Option("cuda", help="cuda (a real measurement) or cpu (checks the harness; small sizes)."),
    out: Path | None = typer.Option(None, "--out", help="Write the efficiency-family JSON here."),
    hardware: str | None = typer.Option(None, help="Catalog id or JSON whose peaks the rates are fractions of "
                                                     "(default: from the CUDA device name; required on cpu)."),
    family: str | None = typer.Option(None, help="Name of the written family (default: <base>-calibrated)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Time GEMMs per format and shape (FP8 via torch._scaled_mm where available), SDPA attention, device
    copy and host<->device copy; print measured vs predicted per kernel; write an efficiency file."""
    if device not in ("cuda", "cpu"):
        raise CoscaleError(f"--device must be cuda or cpu, got '{device}'.")
    if device == "cpu" and hardware is None:
        raise CoscaleError("--device cpu needs --hardware <catalog id>: the chip whose peaks the rates are "
                           "fractions of (a CPU run only checks the harness).")
    try:
        import torch
    except ImportError:
        raise CoscaleError("coscale calibrate needs torch; install it (pip install torch) and rerun.") from None
    from coscale.calibrate.bench import CPU_SIZES, GPU_SIZES, device_info, run_benchmarks

    if out is not None:
        check_out_file(out)  # before the measurement: a bad path must not cost it
    if device == "cuda" and not torch.cuda.is_available():
        raise CoscaleError("--device cuda but torch sees no CUDA device; use --device cpu to check the harness.")
    info = device_info(device)
    if hardware is None:
        from coscale.calibrate.chips import catalog_id_for

        hardware = catalog_id_for(info["chip"])
    hw = load_hardware(hardware)
    info["date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    measurements, skipped = run_benchmarks(device, GPU_SIZES if device == "cuda" else CPU_SIZES)
    base = hw.efficiency
    fields = fit_fields(measurements, hw, base, info)
    doc = family_document(name=family or f"{base.family}-calibrated", base=base, hw=hw, fields=fields,
                          measurements=measurements, skipped=skipped, provenance=info)
    if out is not None:
        out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    rows = calibration_rows([Measurement.from_dict(m) for m in doc["measurements"]], hw, base)
    if as_json:
        print_json({**doc, "measured_vs_predicted": rows, "written_to": str(out) if out else None})
        return
    print_calibration(doc, rows, str(out) if out else None, make_console())
