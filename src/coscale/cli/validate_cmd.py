"""`coscale validate`: every shipped published case, predicted vs published, and the error."""

from __future__ import annotations

from importlib import resources

import typer

from coscale.report.console import make_console, print_json
from coscale.report.validation import print_validation, validation_to_dict
from coscale.validation.bands import residuals_to_json
from coscale.validation.runner import default_workers, residuals, run_all, run_validation, summarize


def validate(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    write_residuals: bool = typer.Option(False, "--write-residuals",
                                         help="Rewrite the shipped residuals the error bands are drawn from."),
    serving: bool = typer.Option(True, "--serving/--no-serving",
                                 help="Include the request-level serving simulations and run max-load benchmark "
                                      "rows through the simulator (most of the run time; off: analytic steady state)."),
) -> None:
    """Compare predictions with published measurements (and published co-design comparisons as ratios of two
    predictions; the serving category simulates published serving runs); print per-case error, medians per
    category and how well the 80 % error bands cover out-of-sample cases (leave-one-out)."""
    if write_residuals:
        path = resources.files("coscale.validation").joinpath("residuals.json")
        path.write_text(residuals_to_json(residuals(run_all())))  # type: ignore[attr-defined]
    results = run_validation(serving=serving, workers=default_workers())
    data = validation_to_dict(results, summarize(results))
    if as_json:
        print_json(data)
        return
    print_validation(data, make_console())
