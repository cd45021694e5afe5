"""`coscale validate`: every shipped published case, predicted vs published, and the error."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from coscale.cli.console import make_console
from coscale.validation.runner import run_all, summarize


def validate(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Compare predictions with published measurements; print per-case error and medians per category."""
    results = run_all()
    summary = summarize(results)
    if as_json:
        print(json.dumps({
            "cases": [{"id": r.id, "category": r.category, "calibration": r.calibration, "description": r.description,
                       "predicted": r.predicted, "published": r.published, "unit": r.unit, "error": r.error,
                       "source": r.source, "note": r.note} for r in results],
            "summary": summary,
        }))
        return
    console = make_console()
    table = Table(title="coscale validate: predicted vs published")
    for col in ("case", "category", "what", "predicted", "published", "unit", "error"):
        table.add_column(col, justify="right" if col in ("predicted", "published", "error") else "left")
    for r in results:
        tag = " (cal.)" if r.calibration else ""
        colour = "green" if abs(r.error) <= 0.15 else ("yellow" if abs(r.error) <= 0.3 else "red")
        table.add_row(r.id + tag, r.category, r.description, f"{r.predicted:,.4g}", f"{r.published:,.4g}", r.unit,
                      f"[{colour}]{r.error:+.1%}[/]")
    console.print(table)
    for label, key in (("all cases", "median_abs_error_by_category"),
                       ("out-of-sample (calibration cases excluded)", "median_abs_error_out_of_sample_by_category")):
        parts = [f"{c} {v:.1%}" for c, v in summary[key].items() if v is not None]
        console.print(f"median |error| by category, {label}: " + ", ".join(parts))
    console.print(f"median |error| over inference + kernel cases: "
                  f"{summary['median_abs_error_inference_and_kernel']:.1%} "
                  f"(out-of-sample only: {summary['median_abs_error_inference_and_kernel_out_of_sample']:.1%})")
    console.print("(cal.) = a cost-model constant was fitted on this case; see hardware/efficiency/<family>.json")
