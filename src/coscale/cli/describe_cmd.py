"""`coscale describe` and `coscale models`: what a model is made of and what its state costs.

Plain functions so the lead can register them on the root typer app; `--json` prints exactly one
JSON object, otherwise rich tables.
"""

from __future__ import annotations

import json

from rich.table import Table

from coscale.cli.console import make_console
from coscale.models.describe import describe_model
from coscale.models.params import count_params
from coscale.models.registry import list_presets, load_preset, preset_info


def _si(n: float, unit: str = "") -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".strip()


def _bytes(n: float) -> str:
    for scale, prefix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {prefix}"
    return f"{n:,.0f} B"


def describe(model: str, kv_precisions: list[str], as_json: bool) -> None:
    """Print layer kinds, parameter counts, KV bytes per token and SSM state for one model."""
    data = describe_model(model, kv_precisions)
    console = make_console()
    if as_json:
        print(json.dumps(data))
        return
    head = Table(title=f"{data['name']} ({data['architecture']})", show_header=False)
    head.add_row("source", data["source"])
    head.add_row("hidden / vocab / layers", f"{data['hidden_size']} / {data['vocab_size']} / {data['num_layers']}")
    head.add_row("max context", str(data["max_position_embeddings"]))
    if data["sliding_windows"]:
        head.add_row("sliding windows", ", ".join(map(str, data["sliding_windows"])))
    head.add_row("params total", _si(data["params_total"]))
    head.add_row("params active / token", _si(data["params_active"]))
    head.add_row("  excl. input embedding", _si(data["params_active_excl_input_embedding"]))
    if "published" in data:
        pub = data["published"]
        conv = "incl." if pub["active_counts_input_embedding"] else "excl."
        head.add_row(
            "published",
            f"{_si(pub['params_total'])} total, {_si(pub['params_active'])} active "
            f"({conv} input embedding) — {pub['source']}",
        )
    for note in data["notes"]:
        head.add_row("note", note)
    console.print(head)
    kinds = Table(title="layers")
    for col in ("kind", "layers", "params total", "params active"):
        kinds.add_column(col, justify="left" if col == "kind" else "right")
    for kind, v in data["params_by_kind"].items():
        kinds.add_row(kind, str(v["layers"]), _si(v["total"]), _si(v["active"]))
    console.print(kinds)
    state = Table(title="per-sequence state")
    for col in ("precision", "KV bytes / token", "KV at max context", "SSM state / sequence"):
        state.add_column(col, justify="right")
    at_max = data["kv_bytes_per_sequence_at_max_context"] or {}
    for prec, kv in data["kv_bytes_per_token"].items():
        state.add_row(
            prec,
            _bytes(kv),
            _bytes(at_max[prec]) if prec in at_max else "-",
            _bytes(data["ssm_state_bytes_per_sequence"][prec]),
        )
    console.print(state)


def list_models(as_json: bool) -> None:
    """Print every preset id with its architecture and parameter counts."""
    rows = []
    for pid in list_presets():
        info = preset_info(pid)
        spec = load_preset(pid)
        count = count_params(spec)
        published_active = (
            count.active if info.active_counts_input_embedding else count.active_excluding_input_embedding
        )
        rows.append(
            {
                "id": pid,
                "name": info.name,
                "architecture": spec.architecture,
                "hf_repo": info.hf_repo,
                "num_layers": spec.num_layers,
                "params_total": count.total,
                "params_active": count.active,
                "params_active_published_convention": published_active,
            }
        )
    if as_json:
        print(json.dumps({"models": rows}))
        return
    table = Table(title="model presets")
    for col in ("id", "architecture", "layers", "params total", "params active"):
        table.add_column(col, justify="right" if col.startswith(("params", "layers")) else "left")
    for r in rows:
        excl = r["params_active_published_convention"] != r["params_active"]
        active = _si(r["params_active_published_convention"]) + (" *" if excl else "")
        table.add_row(r["id"], r["architecture"], str(r["num_layers"]), _si(r["params_total"]), active)
    table.caption = "* vendor convention: input embedding not counted as active"
    make_console().print(table)
