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


def lab_section(record: dict[str, Any], source: str) -> dict[str, Any]:
    """The numbers the page shows, copied from the record (train loss as the lab's own moving average)."""
    window = max(1, int(record["steps"]) // 50)
    trained = [r for r in record["runs"] if not r["diverged"]]
    return {
        "source": source, "preset": record["preset"], "steps": record["steps"], "seed": record["seed"],
        "loss_unit": record["loss_unit"], "window": window, "seed_noise": record.get("seed_noise"),
        "runs": [{"recipe": r["recipe"], "diverged": r["diverged"], "val_loss": r.get("val_loss"),
                  "gap_pct": r.get("gap_pct"), "train_tail_gap_pct": r.get("train_tail_gap_pct"),
                  "tokens_per_s": r.get("tokens_per_s")} for r in record["runs"]],
        "curves": [{"recipe": r["recipe"], "train_loss": moving_average(r["train_loss"], window),
                    "val_steps": [p[0] for p in r["val_curve"]], "val_loss": [p[1] for p in r["val_curve"]]}
                   for r in trained],
        "ptq": [{k: q[k] for k in _PTQ_KEYS} for q in record["ptq"]],
    }


def lab_reading(lab: dict[str, Any]) -> str:
    runs = [r for r in lab["runs"] if not r["diverged"] and r["recipe"] != "bf16"]
    diverged = [r["recipe"] for r in lab["runs"] if r["diverged"]]
    worst = max(runs, key=lambda r: r["train_tail_gap_pct"], default=None)
    ptq = max(lab["ptq"], key=lambda q: q["gap_pct"], default=None)
    noise = lab["seed_noise"]
    parts = [f"Preset {lab['preset']}, {lab['steps']} steps, seed {lab['seed']}"]
    if worst:
        parts.append(f"the largest train-tail gap to BF16 is {worst['recipe']} at {worst['train_tail_gap_pct']:+.2f} %")
    if ptq:
        parts.append(f"the largest post-training loss is {ptq['scheme']} ({ptq['method']}) at {ptq['gap_pct']:+.2f} %")
    if noise and noise.get("gap_pct") is not None:
        parts.append(f"a second BF16 seed moves the validation loss by {noise['gap_pct']:+.2f} %, the noise floor")
    if diverged:
        parts.append(f"diverged: {', '.join(diverged)}")
    return "; ".join(parts) + "."
