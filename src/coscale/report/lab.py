"""Lab results: the one JSON-ready dict of a training run and of a preset, and the rich tables of
runs, comparisons (`run_compare` already returns its record as a plain dict) and recipes."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:  # the lab imports torch; only its types are needed here
    from coscale.lab.config import Preset
    from coscale.lab.recipes import Recipe
    from coscale.lab.train import RunResult
    from coscale.specs.model import ModelSpec


def run_to_dict(preset: str, recipe: str, seed: int, out: Path, result: RunResult) -> dict[str, Any]:
    """`lab train --json`: one run's outcome."""
    return {
        "preset": preset,
        "recipe": recipe,
        "seed": seed,
        "steps": result.steps,
        "out": str(out),
        "val_loss": result.val_loss,
        "val_ppl": math.exp(result.val_loss),
        "final_train_loss": result.train_loss[-1] if result.train_loss else None,
        "tokens_per_s": result.tokens_per_s,
        "interrupted": result.interrupted,
        "resumed_from": result.resumed_from,
        "val_curve": [list(v) for v in result.val_curve],
    }


def run_table(record: dict[str, Any]) -> Table:
    table = Table(title=f"lab train: {record['preset']} / {record['recipe']} (seed {record['seed']})",
                  show_header=False)
    for key in ("steps", "val_loss", "val_ppl", "final_train_loss", "tokens_per_s", "resumed_from", "out"):
        value = record[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    return table


def preset_to_dict(preset: Preset, spec: ModelSpec, parameters: int) -> dict[str, Any]:
    """`lab describe --json`: a preset's layers as the predictor's ModelSpec sees them."""
    return {
        "preset": preset.name,
        "description": preset.description,
        "pattern": preset.model.pattern,
        "layers": [layer.kind for layer in spec.layers],
        "hidden_size": spec.hidden_size,
        "vocab_size": spec.vocab_size,
        "parameters": parameters,
        "steps": preset.train.steps,
        "batch_size": preset.train.batch_size,
        "seq_len": preset.train.seq_len,
    }


def preset_table(data: dict[str, Any]) -> Table:
    table = Table(title=f"lab preset {data['preset']}: {data['description']}", show_header=False)
    for key, value in data.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    return table


def compare_tables(record: dict) -> tuple[Table, Table]:
    """(recipes table, PTQ table) of a `run_compare` record."""
    runs = Table(
        title=f"lab compare: preset {record['preset']}, {record['steps']} steps, seed {record['seed']} "
        f"(val loss in {record['loss_unit']})"
    )
    for col in (
        "recipe",
        "val loss",
        "val ppl",
        "gap vs bf16",
        "train-tail gap",
        "tokens/s",
        "step ms",
        "weights",
        "grads",
        "optimizer",
    ):
        runs.add_column(col, justify="left" if col == "recipe" else "right")
    for r in record["runs"]:
        if r["diverged"]:
            runs.add_row(r["recipe"], "diverged", *[""] * 8)
            continue
        b = r["state_bytes"]
        runs.add_row(
            r["recipe"],
            f"{r['val_loss']:.4f}",
            f"{r['val_ppl']:.3f}",
            f"{r['gap_pct']:+.2f}%",
            f"{r['train_tail_gap_pct']:+.2f}%",
            f"{r['tokens_per_s']:,.0f}",
            f"{r['step_ms']:.0f}",
            f"{b['weights'] / 2**20:.2f} MiB",
            f"{b['grads'] / 2**20:.2f} MiB",
            f"{b['optimizer'] / 2**20:.2f} MiB",
        )
    ptq = Table(title="post-training quantization of the bf16 model")
    for col in ("scheme", "method", "weights", "activations", "val loss", "gap vs bf16", "weight rel. err"):
        ptq.add_column(col, justify="left" if col in ("scheme", "method") else "right")
    for q in record["ptq"]:
        ptq.add_row(
            q["scheme"],
            q["method"],
            q["weight"],
            q["activation"],
            f"{q['val_loss']:.4f}",
            f"{q['gap_pct']:+.2f}%",
            f"{q['weight_rel_error']:.4f}",
        )
    return runs, ptq


def recipes_to_dict(recipes: list[Recipe]) -> dict[str, Any]:
    """`lab recipes --json`: every recipe with each operand role's quantization."""
    return {"recipes": [asdict(r) for r in recipes]}


def recipes_table(recipes: list[dict]) -> Table:
    """One row per recipe (as `dataclasses.asdict(Recipe)`): what each GEMM operand uses."""
    table = Table(title="precision recipes (linear layers; master weights & AdamW state FP32)")
    for col in ("recipe", "fprop x / w", "dgrad dy / w", "wgrad dy / x", "bf16 blocks"):
        table.add_column(col)

    def fmt(q: dict | None) -> str:
        if q is None:
            return "bf16"
        extra = [q["rounding"][:5]] if q["rounding"] != "nearest_even" else []
        extra += [f"RHT{q['hadamard']}"] if q["hadamard"] else []
        extra += [f"hist{q['amax_history']}"] if q["amax_history"] else []
        return q["scheme"] + (f" ({', '.join(extra)})" if extra else "")

    for r in recipes:
        table.add_row(
            r["name"],
            f"{fmt(r['linears']['fprop_input'])} / {fmt(r['linears']['fprop_weight'])}",
            f"{fmt(r['linears']['dgrad_grad_output'])} / {fmt(r['linears']['dgrad_weight'])}",
            f"{fmt(r['linears']['wgrad_grad_output'])} / {fmt(r['linears']['wgrad_input'])}",
            f"first {r['bf16_first_blocks']}, last {r['bf16_last_blocks']}",
        )
    return table
