"""The optional reduced-precision section: a `coscale lab compare` result (its `compare.json`) — the
loss curves of every training recipe and the post-training-quantization table, as the lab wrote them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.report.plots import moving_average

_RUN_KEYS = ("recipe", "diverged")
_TRAINED_KEYS = ("val_loss", "gap_pct", "train_tail_gap_pct", "train_loss", "val_curve")
_PTQ_KEYS = ("scheme", "method", "weight", "activation", "val_loss", "gap_pct")


def load_lab_result(path: str | Path) -> dict[str, Any]:
    """A `compare.json` written by `coscale lab compare`, checked for the fields the section reads."""
    p = Path(path)
    hint = "produce one with `coscale lab compare --preset ci --out DIR` and point lab_result at DIR/compare.json"
    if not p.is_file():
        raise CoscaleError(f"scenario lab_result '{p}' does not exist; {hint}.")
    try:
        record = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CoscaleError(f"scenario lab_result '{p}' is not JSON ({exc}); {hint}.") from None
    if not isinstance(record, dict) or not isinstance(record.get("runs"), list) or \
            not isinstance(record.get("ptq"), list):
        raise CoscaleError(f"scenario lab_result '{p}' has no runs/ptq lists; {hint}.")
    for where, rows, keys in (("runs", record["runs"], _RUN_KEYS), ("ptq", record["ptq"], _PTQ_KEYS)):
        for i, row in enumerate(rows):
            needed = keys + (_TRAINED_KEYS if where == "runs" and isinstance(row, dict) and
                             not row.get("diverged") else ())
            missing = [k for k in needed if not isinstance(row, dict) or k not in row]
            if missing:
                raise CoscaleError(f"scenario lab_result '{p}': {where}[{i}] lacks {', '.join(missing)}; {hint}.")
    for key in ("preset", "steps", "seed", "loss_unit"):
        if key not in record:
            raise CoscaleError(f"scenario lab_result '{p}' lacks '{key}'; {hint}.")
    return record


# the recipe table's columns (page.py); interval columns are empty for single-seed records
LAB_RUN_COLUMNS = ["recipe", "val_loss", "gap_pct", "gap_ci95", "train_tail_gap_pct", "tail_ci95", "verdict",
                   "low_precision_weights", "low_precision_gemm_flops", "predicted_speedup",
                   "predicted_memory_gib", "tokens_per_s", "diverged"]


def _mean(value: Any) -> Any:
    """A gap as a number: the mean of a multi-seed {mean, ci95_low, ci95_high} record, else itself."""
    return value.get("mean") if isinstance(value, dict) else value


def _ci(value: Any) -> str:
    if not isinstance(value, dict) or value.get("ci95_low") is None:
        return ""
    return f"[{value['ci95_low']:+.2f}, {value['ci95_high']:+.2f}]"


def _run_row(r: dict[str, Any]) -> dict[str, Any]:
    share, pred = r.get("low_precision_share") or {}, r.get("predicted") or {}
    within = r.get("gap_within_noise")
    return {"recipe": r["recipe"], "diverged": r["diverged"], "val_loss": r.get("val_loss"),
            "gap_pct": _mean(r.get("gap_pct")), "gap_ci95": _ci(r.get("gap_pct")),
            "train_tail_gap_pct": _mean(r.get("tail_gap_pct", r.get("train_tail_gap_pct"))),
            "tail_ci95": _ci(r.get("tail_gap_pct")),
            "verdict": "" if within is None else ("within noise" if within else "outside noise"),
            "low_precision_weights": share.get("weights", ""), "low_precision_gemm_flops": share.get("gemm_flops", ""),
            "predicted_speedup": pred.get("speedup_vs_bf16", ""),
            "predicted_memory_gib": pred.get("memory_gib_per_gpu", ""),
            "tokens_per_s": r.get("tokens_per_s")}


def _ptq_row(q: dict[str, Any]) -> dict[str, Any]:
    row = {k: q[k] for k in _PTQ_KEYS}
    if isinstance(q["gap_pct"], dict):
        row.update({"gap_pct": _mean(q["gap_pct"]), "gap_ci95": _ci(q["gap_pct"])})
    return row


def lab_section(record: dict[str, Any], source: str) -> dict[str, Any]:
    """The numbers the page shows, copied from the record (train loss as the lab's own moving average).
    Multi-seed records (`lab compare --seeds N`) give each gap as its mean plus the 95 % interval."""
    window = max(1, int(record["steps"]) // 50)
    trained = [r for r in record["runs"] if r.get("train_loss")]
    return {
        "source": source, "preset": record["preset"], "steps": record["steps"], "seed": record["seed"],
        "seeds": record.get("seeds", [record["seed"]]), "tail_steps": record.get("tail_steps"),
        "val_tokens": record.get("val_tokens"), "target": record.get("target"),
        "loss_unit": record["loss_unit"], "window": window, "seed_noise": record.get("seed_noise"),
        "runs": [_run_row(r) for r in record["runs"]],
        "curves": [{"recipe": r["recipe"], "train_loss": moving_average(r["train_loss"], window),
                    "val_steps": [p[0] for p in r["val_curve"]], "val_loss": [p[1] for p in r["val_curve"]]}
                   for r in trained],
        "ptq": [_ptq_row(q) for q in record["ptq"]],
    }


def lab_reading(lab: dict[str, Any]) -> str:
    runs = [r for r in lab["runs"] if r.get("train_tail_gap_pct") is not None and r["recipe"] != "bf16"]
    diverged = [r["recipe"] for r in lab["runs"] if r["diverged"]]
    worst = max(runs, key=lambda r: r["train_tail_gap_pct"], default=None)
    ptq = max(lab["ptq"], key=lambda q: q["gap_pct"], default=None)
    noise = lab["seed_noise"]
    seeds = lab.get("seeds") or [lab["seed"]]
    parts = [f"Preset {lab['preset']}, {lab['steps']} steps, seed{'s' if len(seeds) > 1 else ''} "
             f"{', '.join(map(str, seeds))}"]
    if worst:
        ci = f" {worst['tail_ci95']}" if worst.get("tail_ci95") else ""
        parts.append(f"the largest train-tail gap to BF16 is {worst['recipe']} at {worst['train_tail_gap_pct']:+.2f} %"
                     + ci)
    outside = [r["recipe"] for r in runs if r.get("verdict") == "outside noise"]
    if len(seeds) > 1:
        parts.append("validation gaps whose 95 % interval excludes 0: " + (", ".join(outside) or "none"))
    if ptq:
        parts.append(f"the largest post-training loss is {ptq['scheme']} ({ptq['method']}) at {ptq['gap_pct']:+.2f} %")
    if noise and noise.get("gap_pct") is not None:
        parts.append(f"a second BF16 seed moves the validation loss by {noise['gap_pct']:+.2f} %, the noise floor")
    if diverged:
        parts.append(f"diverged: {', '.join(diverged)}")
    return "; ".join(parts) + "."
