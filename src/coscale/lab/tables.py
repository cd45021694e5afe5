"""Rich tables for lab records (the CLI prints them; the records themselves are plain dicts)."""

from __future__ import annotations

from rich.table import Table


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
