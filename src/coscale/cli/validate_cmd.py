"""`coscale validate`: every shipped published case, predicted vs published, and the error."""

from __future__ import annotations

import typer

from coscale.report.console import make_console, print_json
from coscale.report.validation import print_validation, validation_to_dict
from coscale.validation.runner import run_validation, summarize


def validate(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Compare predictions with published measurements; print per-case error and medians per category."""
    results = run_validation()
    data = validation_to_dict(results, summarize(results))
    if as_json:
        print_json(data)
        return
    print_validation(data, make_console())
