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


def _interval(stat: dict | float | None) -> str:
    """'+0.43 % [+0.12, +0.74]' from a {mean, ci95_low, ci95_high} record (older records: a number)."""
    if stat is None:
        return ""
    if not isinstance(stat, dict):
        return f"{stat:+.2f} %"
    if stat.get("mean") is None:
        return ""
    if stat.get("ci95_low") is None:
        return f"{stat['mean']:+.2f} % (1 seed)"
    return f"{stat['mean']:+.2f} % [{stat['ci95_low']:+.2f}, {stat['ci95_high']:+.2f}]"


def _verdict(within: bool | None, stat: dict | None) -> str:
    if within is None or not isinstance(stat, dict):
        return ""
    return "within noise" if within else ("worse" if stat["mean"] > 0 else "better")


def compare_tables(record: dict) -> tuple[Table, ...]:
    """(recipes table, PTQ table[, ablations table]) of a `run_compare` record."""
    seeds = record.get("seeds", [record.get("seed")])
    runs = Table(
        title=f"lab compare: preset {record['preset']}, {record['steps']} steps, {len(seeds)} seed(s) "
        f"{', '.join(map(str, seeds))}; gaps to bf16: mean [95 % interval], paired per seed; "
        f"val on {record.get('val_tokens', '?'):,} tokens, train tail = last {record.get('tail_steps', '?')} steps"
    )
    for col in ("recipe", "low-prec W / FLOPs", "val gap", "train-tail gap", "verdict", "pred. step",
                "pred. tok/s/GPU", "pred. mem/GPU", "lab step ms"):
        runs.add_column(col, justify="left" if col in ("recipe", "verdict") else "right")
    for r in record["runs"]:
        if r["diverged"] and r.get("val_loss") is None:
            runs.add_row(r["recipe"], "", "diverged", *[""] * 6)
            continue
        share = r.get("low_precision_share") or {}
        pred = r.get("predicted") or {}
        verdict = _verdict(r.get("gap_within_noise"), r.get("gap_pct"))
        tail = _verdict(r.get("tail_within_noise"), r.get("tail_gap_pct"))
        if r["diverged"]:
            verdict = f"diverged on seed(s) {r['diverged_seeds']}"
        elif tail and tail != verdict:
            verdict = f"val {verdict}, tail {tail}"
        runs.add_row(
            r["recipe"],
            f"{share['weights']:.0%} / {share['gemm_flops']:.0%}" if share else "",
            _interval(r["gap_pct"]),
            _interval(r.get("tail_gap_pct", r.get("train_tail_gap_pct"))),
            verdict,
            f"{pred['step_time_s']:.2f} s" if pred else "",
            f"{pred['tokens_per_s_per_gpu']:,.0f} ({pred['speedup_vs_bf16']:.2f}x)" if pred else "",
            f"{pred['memory_gib_per_gpu']:.1f} GiB ({-pred['memory_saved_gib']:+.1f})" if pred else "",
            f"{r['step_ms']:.0f}",
        )
    ptq = Table(title="post-training quantization of each seed's bf16 model (gap: mean [95 % interval])")
    for col in ("scheme", "method", "weights", "activations", "val loss", "gap vs bf16", "weight rel. err"):
        ptq.add_column(col, justify="left" if col in ("scheme", "method") else "right")
    for q in record["ptq"]:
        ptq.add_row(q["scheme"], q["method"], q["weight"], q["activation"], f"{q['val_loss']:.4f}",
                    _interval(q["gap_pct"]), f"{q['weight_rel_error']:.4f}")
    if not record.get("ablations"):
        return runs, ptq
    abl = Table(title="nvfp4 ablations: paired difference to the full nvfp4 recipe (ranked only if separated)")
    for col in ("ablation", "metric", "difference", "verdict"):
        abl.add_column(col)
    for a in record["ablations"]:
        abl.add_row(a["recipe"], a["metric"], _interval(a["diff_pct"]), a["verdict"])
    return runs, ptq, abl


def compare_notes(record: dict) -> list[str]:
    """Plain sentences under the tables: what each recipe buys, and how to read the intervals."""
    lines = []
    target = record.get("target")
    for r in record["runs"]:
        pred, gap = r.get("predicted"), r.get("gap_pct")
        if r["recipe"] == record.get("baseline", "bf16") or not pred or not isinstance(gap, dict) or \
                gap.get("mean") is None:
            continue
        saved = pred["memory_saved_gib"]
        lines.append(
            f"{r['recipe']}: {gap['mean']:+.2f} % validation loss, {pred['speedup_vs_bf16']:.2f}x throughput, "
            f"{abs(saved):.1f} GiB {'less' if saved >= 0 else 'more'} memory per GPU than bf16"
        )
    if target:
        lines.append(f"throughput and memory: the training planner's prediction for {target}")
    se = [r["val_sampling_se_pct"] for r in record["runs"] if r.get("val_sampling_se_pct") is not None]
    half = [(g["ci95_high"] - g["ci95_low"]) / 2 for r in record["runs"] if r["recipe"] != record.get("baseline")
            and isinstance(g := r.get("gap_pct"), dict) and g.get("ci95_low") is not None]
    if se:
        spread = f"; the gaps' 95 % half-widths over seeds are {min(half):.2f}-{max(half):.2f} %" if half else ""
        lines.append(f"validation set: {record.get('val_tokens', 0):,} tokens; its own paired sampling error on a gap "
                     f"is {min(se):.3f}-{max(se):.3f} % (one standard error){spread}")
    lines.append("a gap is 'within noise' only when its 95 % interval includes 0; with few seeds the intervals "
                 "are wide (t = 4.30 for 3 seeds)")
    return lines


def scaling_tables(record: dict) -> tuple[Table, Table]:
    """(points table, trends table) of a `run_scaling` record."""
    recipes = record["recipes"]
    points = Table(title=f"lab scaling: preset {record['preset']} by width and steps, seeds "
                   f"{', '.join(map(str, record['seeds']))}; validation gap to bf16: mean [95 % interval], "
                   "paired per seed")
    for col in ("width", "params", "steps", "tokens", "tokens/param", "bf16 val loss", *recipes):
        points.add_column(col, justify="right")
    for p in record["points"]:
        points.add_row(str(p["width"]), f"{p['params'] / 1e6:.2f}M", str(p["steps"]), f"{p['tokens']:,}",
                       f"{p['tokens_per_param']:.3f}", f"{p['bf16_val_loss']:.4f}",
                       *[_interval(p["recipes"][r]["gap_pct"]) for r in recipes])
    trends = Table(title="how each gap moves: per-seed paired change between two points (percentage points)")
    for col in ("recipe", "along", "held at", "from -> to", "change", "verdict"):
        trends.add_column(col)
    for t in record["trends"]:
        held = f"{t['at_steps']} steps" if t["along"] == "width" else f"width {t['at_width']}"
        ratio = f"{t['params_ratio']:.1f}x params" if t["along"] == "width" else f"{t['tokens_ratio']:.1f}x tokens"
        trends.add_row(t["recipe"], t["along"], held, f"{t['from']} -> {t['to']} ({ratio})",
                       _interval(t["change_pct_points"]).replace(" %", ""), t["verdict"])
    return points, trends


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
