"""Train every recipe from the same seed and data, quantize the BF16 model after training, compare.

The output is one plain record (JSON-ready) plus files in the out folder: `compare.json`, the
loss-curve plot as PNG and as a self-contained interactive HTML. Each recipe's run lives in
`runs/<recipe>/` with its own checkpoint, so an interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.lab.config import Preset
from coscale.lab.data import Corpus, train_batch, val_batches
from coscale.lab.memory import training_state_bytes
from coscale.lab.ptq import PTQ_SCHEMES, PtqScheme, quantize_model, weight_error
from coscale.lab.recipes import Recipe
from coscale.lab.train import RunResult, StepInfo, evaluate, pick_device, train_run

BASELINE = "bf16"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompareEvents:
    """Callbacks for a progress display; all optional."""

    on_run_start: Callable[[Recipe, int], None] | None = None
    on_step: Callable[[StepInfo], None] | None = None
    on_ptq: Callable[[PtqScheme], None] | None = None


def gap_pct(value: float, baseline: float) -> float:
    return 100.0 * (value - baseline) / baseline


def tail_mean(losses: tuple[float, ...], fraction: float = 1 / 6) -> float:
    """Mean train loss over the last `fraction` of steps.

    Every recipe sees the same batches in the same order, so this is a *paired* comparison over
    many batches: much less noisy than one validation point, which also carries trajectory noise.
    """
    n = max(1, round(len(losses) * fraction))
    return sum(losses[-n:]) / n


def _run_record(recipe: Recipe, result: RunResult | None, model, error: str | None) -> dict:
    record = {"recipe": recipe.name, "description": recipe.description}
    if result is None:
        return {
            **record,
            "val_loss": None,
            "val_ppl": None,
            "gap_pct": None,
            "tokens_per_s": None,
            "diverged": True,
            "error": error,
        }
    return {
        **record,
        "val_loss": result.val_loss,
        "val_ppl": math.exp(result.val_loss),
        "tokens_per_s": result.tokens_per_s,
        "train_seconds": result.train_seconds,
        "steps": result.steps,
        "step_ms": 1000 * result.train_seconds / max(1, len(result.train_loss)),
        "final_train_loss": result.train_loss[-1],
        "train_tail_loss": tail_mean(result.train_loss),
        "state_bytes": training_state_bytes(model, recipe),
        "val_curve": [list(p) for p in result.val_curve],
        "train_loss": list(result.train_loss),
        "high_precision_linears": sum(v == "bf16" for v in result.plan.values()),
        "quantized_linears": sum(v == "quant" for v in result.plan.values()),
        "diverged": False,
    }


def run_compare(
    preset: Preset,
    recipes: list[Recipe],
    corpus: Corpus,
    *,
    seed: int,
    out_dir: Path,
    ptq_schemes: tuple[PtqScheme, ...] = PTQ_SCHEMES,
    calibration_batches: int = 8,
    seed_noise: bool = True,
    events: CompareEvents | None = None,
) -> dict:
    """Train `recipes` (which must include bf16), run PTQ on the BF16 model, return the record."""
    if BASELINE not in [r.name for r in recipes]:
        raise CoscaleError("a comparison needs the bf16 baseline recipe")
    events = events or CompareEvents()
    tic = time.perf_counter()
    runs, bf16_model = [], None
    for recipe in recipes:
        if events.on_run_start:
            events.on_run_start(recipe, preset.train.steps)
        try:
            result, model = train_run(
                preset, recipe, corpus, seed=seed, out_dir=out_dir / "runs" / recipe.name, on_step=events.on_step
            )
            runs.append(_run_record(recipe, result, model, None))
            if recipe.name == BASELINE:
                bf16_model = model
        except CoscaleError as exc:
            if recipe.name == BASELINE or "diverged" not in str(exc):
                raise
            runs.append(_run_record(recipe, None, None, str(exc)))
    base = next(r["val_loss"] for r in runs if r["recipe"] == BASELINE)
    base_tail = next(r["train_tail_loss"] for r in runs if r["recipe"] == BASELINE)
    for r in runs:
        r["gap_pct"] = None if r["val_loss"] is None else gap_pct(r["val_loss"], base)
        r["train_tail_gap_pct"] = None if r["val_loss"] is None else gap_pct(r["train_tail_loss"], base_tail)
    noise = None
    if seed_noise:
        # The same BF16 recipe with another seed (init + data order): gaps smaller than this are noise.
        bf16 = next(r for r in recipes if r.name == BASELINE)
        if events.on_run_start:
            events.on_run_start(dataclasses.replace(bf16, name=f"bf16 (seed {seed + 1})"), preset.train.steps)
        other, _ = train_run(
            preset,
            bf16,
            corpus,
            seed=seed + 1,
            out_dir=out_dir / "runs" / f"bf16-seed{seed + 1}",
            on_step=events.on_step,
        )
        noise = {
            "recipe": BASELINE,
            "seed": seed + 1,
            "val_loss": other.val_loss,
            "gap_pct": gap_pct(other.val_loss, base),
        }
    t = preset.train
    device = pick_device(t.device)
    val_set = val_batches(corpus, n_batches=t.eval_batches, batch_size=t.batch_size, seq_len=t.seq_len)
    calib = [
        train_batch(corpus, seed=seed + 7919, step=i, batch_size=t.batch_size, seq_len=t.seq_len)[0].to(device)
        for i in range(calibration_batches)
    ]
    ptq = []
    for scheme in ptq_schemes:
        if events.on_ptq:
            events.on_ptq(scheme)
        qmodel = quantize_model(bf16_model, scheme, calibration=calib)
        loss = evaluate(qmodel, val_set, device)
        ptq.append(
            {
                "scheme": scheme.name,
                "label": scheme.label,
                "method": scheme.method,
                "weight": scheme.weight,
                "activation": scheme.activation or "bf16",
                "val_loss": loss,
                "val_ppl": math.exp(loss),
                "gap_pct": gap_pct(loss, base),
                "weight_rel_error": weight_error(bf16_model, qmodel),
            }
        )
    record = {
        "preset": preset.name,
        "seed": seed,
        "steps": t.steps,
        "device": str(device),
        "tokens_per_step": t.batch_size * t.seq_len,
        "data": {
            "source": corpus.source,
            "files": corpus.n_files,
            "bytes": corpus.n_bytes,
            "sha256": corpus.fingerprint,
            "train_tokens": corpus.train.numel(),
            "val_tokens": corpus.val.numel(),
        },
        "loss_unit": "nats per token",
        "baseline": BASELINE,
        "runs": runs,
        "ptq": ptq,
        "seed_noise": noise,
        "wall_seconds": time.perf_counter() - tic,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".compare.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out_dir / "compare.json")
    return record
