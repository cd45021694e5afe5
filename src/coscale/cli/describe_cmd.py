"""`coscale describe` and `coscale list models`: what a model is made of and what its state costs.

`--json` prints exactly one JSON object, otherwise rich tables (both from coscale.report.models).
"""

from __future__ import annotations

from coscale.report.console import make_console, print_json
from coscale.report.models import model_to_dict, presets_table, presets_to_dict, print_model
from coscale.resolve import resolve_model


def describe(model: str, kv_precisions: list[str], as_json: bool) -> None:
    """Print layer kinds, parameter counts, KV bytes per token and SSM state for one model."""
    data = model_to_dict(model, resolve_model(model), kv_precisions)
    if as_json:
        print_json(data)
        return
    print_model(data, make_console())


def list_models(as_json: bool) -> None:
    """Print every preset id with its architecture and parameter counts."""
    data = presets_to_dict()
    if as_json:
        print_json(data)
        return
    make_console().print(presets_table(data))
