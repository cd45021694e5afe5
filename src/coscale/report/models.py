"""Model descriptions and the preset list: their one JSON-ready dict each, and rich tables.

`model_to_dict` explains a model (layer kinds, parameter counts, KV and SSM state sizes); it is a
plain function of the ModelSpec, so every figure `coscale describe` shows can be recomputed and
tested without the CLI, and the tables are drawn from the same dict.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coscale.models.cache import kv_cache_bytes_per_sequence, kv_cache_bytes_per_token, ssm_state_bytes_per_sequence
from coscale.models.params import count_params
from coscale.models.registry import list_presets, load_preset, preset_info
from coscale.specs.model import AttentionSpec, ModelSpec
from coscale.specs.precision import get_kv_format, get_precision

DEFAULT_KV_PRECISIONS = ("bf16", "fp8", "nvfp4")


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def model_to_dict(model: str, spec: ModelSpec,
                  kv_precisions: list[str] | tuple[str, ...] = DEFAULT_KV_PRECISIONS) -> dict[str, Any]:
    """`describe --json`: `spec` (resolved from the id or path `model`) explained."""
    precisions = [get_kv_format(p) for p in (kv_precisions or DEFAULT_KV_PRECISIONS)]
    count = count_params(spec)
    layers: dict[str, int] = {}
    for layer in spec.layers:
        layers[layer.kind] = layers.get(layer.kind, 0) + 1
    windows = sorted(
        {
            layer.mixer.sliding_window
            for layer in spec.layers
            if isinstance(layer.mixer, AttentionSpec) and layer.mixer.sliding_window
        }
    )
    ctx = spec.max_position_embeddings
    state = get_precision("bf16").ssm_state  # the default recipe's; every inference recipe keeps it BF16
    out: dict[str, Any] = {
        "model": model,
        "name": spec.name,
        "architecture": spec.architecture,
        "source": spec.source,
        "hidden_size": spec.hidden_size,
        "vocab_size": spec.vocab_size,
        "num_layers": spec.num_layers,
        "layers": layers,
        "sliding_windows": windows,
        "max_position_embeddings": ctx,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "params_total": count.total,
        "params_active": count.active,
        "params_active_excl_input_embedding": count.active_excluding_input_embedding,
        "params_embedding": count.embedding,
        "params_lm_head": count.lm_head,
        "params_by_kind": {k.kind: {"layers": k.layers, "total": k.total, "active": k.active} for k in count.by_kind},
        "kv_bytes_per_token": {p.name: _num(kv_cache_bytes_per_token(spec, p.bytes_per_element)) for p in precisions},
        "kv_bytes_per_sequence_at_max_context": (
            {p.name: _num(kv_cache_bytes_per_sequence(spec, ctx, p.bytes_per_element)) for p in precisions}
            if ctx
            else None
        ),
        # the Mamba state keeps its own format (the recipe's `ssm_state`, BF16), whatever the KV format:
        # keyed by that format, the same figure `predict` counts
        "ssm_state_format": state.name,
        "ssm_state_bytes_per_sequence": {state.name: _num(ssm_state_bytes_per_sequence(spec, state.bytes_per_element))},
        "notes": list(spec.notes),
    }
    if model in list_presets():
        info = preset_info(model)
        out["published"] = {
            "params_total": info.params_total,
            "params_active": info.params_active,
            "active_counts_input_embedding": info.active_counts_input_embedding,
            "hf_repo": info.hf_repo,
            "source": info.source,
        }
    return out


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


def print_model(data: dict[str, Any], console: Console) -> None:
    """The tables of `coscale describe`, drawn from `model_to_dict`."""
    head = Table(title=f"{escape(data['name'])} ({escape(data['architecture'])})", show_header=False)
    head.add_row("source", escape(data["source"]))
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
        head.add_row("note", escape(note))
    console.print(head)
    kinds = Table(title="layers")
    for col in ("kind", "layers", "params total", "params active"):
        kinds.add_column(col, justify="left" if col == "kind" else "right")
    for kind, v in data["params_by_kind"].items():
        kinds.add_row(kind, str(v["layers"]), _si(v["total"]), _si(v["active"]))
    console.print(kinds)
    state = Table(title="per-sequence state")
    for col in ("KV precision", "KV bytes / token", "KV at max context"):
        state.add_column(col, justify="right")
    at_max = data["kv_bytes_per_sequence_at_max_context"] or {}
    for prec, kv in data["kv_bytes_per_token"].items():
        state.add_row(prec, _bytes(kv), _bytes(at_max[prec]) if prec in at_max else "-")
    console.print(state)
    fmt = data["ssm_state_format"]
    console.print(f"Mamba (SSM + conv) state / sequence: {_bytes(data['ssm_state_bytes_per_sequence'][fmt])} in {fmt}, "
                  "whatever the KV precision", highlight=False)


def presets_to_dict() -> dict[str, Any]:
    """`list models --json`: every preset id with its architecture and parameter counts."""
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
    return {"models": rows}


def presets_table(data: dict[str, Any]) -> Table:
    table = Table(title="model presets")
    for col in ("id", "architecture", "layers", "params total", "params active"):
        table.add_column(col, justify="right" if col.startswith(("params", "layers")) else "left")
    for r in data["models"]:
        excl = r["params_active_published_convention"] != r["params_active"]
        active = _si(r["params_active_published_convention"]) + (" *" if excl else "")
        table.add_row(r["id"], r["architecture"], str(r["num_layers"]), _si(r["params_total"]), active)
    table.caption = "* vendor convention: input embedding not counted as active"
    return table
