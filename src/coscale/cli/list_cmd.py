"""`coscale list models|hardware`."""

from __future__ import annotations

import typer

from coscale.cli.describe_cmd import list_models
from coscale.report.hardware import list_hardware_table

app = typer.Typer(help="List the model presets and the hardware catalog.", no_args_is_help=True)


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Model presets with their parameter counts (published vs computed)."""
    list_models(as_json)


@app.command("hardware")
def hardware(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Accelerators in the catalog with peak rates, memory, links and power."""
    list_hardware_table(as_json)
