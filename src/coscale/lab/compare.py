"""Train every recipe on the same seeds and batches, quantize each BF16 model after training, compare.

Each seed fixes the initial weights and the batch order, and every recipe trains on each seed, so a
recipe's gap to BF16 on seed s is a *paired* difference. Over the seeds, each gap is reported as
mean, Student-t 95 % interval and the per-seed values (`stats.py`), for the validation loss (on
`compare_val_batches` fixed sequences; the paired sampling error of that set is measured and
reported per recipe) and for the train tail (the mean train loss over the last `tail_steps`
steps, the same batches for every recipe). A gap is "within noise" only when its interval
includes 0. Beside each gap: the recipe's measured low-precision share (`shares.py`) and, when a
target is given, what the training planner predicts the recipe buys at scale (`tradeoff.py`).

The output is one plain record (JSON-ready) plus `compare.json` in the out folder. Each run lives
in `runs/s<seed>/<recipe>/` with its own checkpoint, so an interrupted comparison resumes.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from coscale.errors import CoscaleError
from coscale.lab.config import Preset
from coscale.lab.data import Corpus, train_batch, val_batches
from coscale.lab.interrupt import RunInterrupted
from coscale.lab.memory import training_state_bytes
from coscale.lab.outputs import write_json_atomic
from coscale.lab.ptq import PTQ_SCHEMES, PtqScheme, quantize_model, weight_error
from coscale.lab.recipes import Recipe
from coscale.lab.shares import linear_census
from coscale.lab.stats import PairedStat, gap_pct, paired_stat, separation
from coscale.lab.tradeoff import TradeoffTarget, predict_recipes
from coscale.lab.train import StepInfo, build_model, pick_device, schedule_text, sequence_losses, train_run

BASELINE = "bf16"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompareEvents:
    """Callbacks for a progress display; all optional."""

    on_run_start: Callable[[Recipe, int, int], None] | None = None  # (recipe, steps, seed)
    on_step: Callable[[StepInfo], None] | None = None
    on_ptq: Callable[[PtqScheme, int], None] | None = None  # (scheme, seed)


@dataclass(frozen=True, kw_only=True, slots=True)
class CompareOptions:
    seeds: tuple[int, ...] = (0, 1, 2)
    tail_steps: int | None = None  # default: a sixth of the run, at least 1
    fp8_backend: str = "emulated"
    calibration_batches: int = 8
    ptq_schemes: tuple[PtqScheme, ...] = PTQ_SCHEMES
    target: TradeoffTarget | None = field(default_factory=TradeoffTarget)

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise CoscaleError(f"--seeds needs distinct seeds, got {list(self.seeds)}; pass e.g. --seeds 3")
        if self.tail_steps is not None and self.tail_steps < 1:
            raise CoscaleError(f"--tail-steps must be positive, got {self.tail_steps}")


def default_tail_steps(steps: int) -> int:
    return max(1, round(steps / 6))


def tail_mean(losses: tuple[float, ...], n: int) -> float:
    """Mean train loss over the last `n` steps (the same batches for every recipe of a seed)."""
    n = max(1, min(n, len(losses)))
    return sum(losses[-n:]) / n


@dataclass(kw_only=True, slots=True)
class _SeedRun:
    """One recipe on one seed (None fields: diverged)."""

    seq: torch.Tensor | None
    tail: float | None
    result: object | None
    error: str | None = None


def _paired_se_pct(seq: torch.Tensor, base: torch.Tensor) -> float:
    """Standard error (in % of the baseline loss) of the mean per-sequence loss difference."""
    d = (seq - base).double()
    return 100.0 * float(d.std(unbiased=True) / math.sqrt(d.numel())) / float(base.mean())


def _recipe_record(recipe: Recipe, runs: dict[int, _SeedRun], base: dict[int, _SeedRun], seeds, extra) -> dict:
    val_gaps, tail_gaps, ses = [], [], []
    for s in seeds:
        r, b = runs[s], base[s]
        if r.seq is None:
            val_gaps.append(None)
            tail_gaps.append(None)
            continue
        val_gaps.append(gap_pct(float(r.seq.mean()), float(b.seq.mean())))
        tail_gaps.append(gap_pct(r.tail, b.tail))
        ses.append(_paired_se_pct(r.seq, b.seq))
    gap, tail = paired_stat(val_gaps), paired_stat(tail_gaps)
    done = [runs[s].result for s in seeds if runs[s].result is not None]
    diverged = [s for s in seeds if runs[s].result is None]
    record = {
        "recipe": recipe.name,
        "description": recipe.description,
        "seeds": list(seeds),
        "diverged": bool(diverged),
        "diverged_seeds": diverged,
        "error": next((runs[s].error for s in diverged), None),
        "val_loss": statistics.fmean(float(runs[s].seq.mean()) for s in seeds if runs[s].seq is not None)
        if done
        else None,
        "gap_pct": gap.as_dict(),
        "tail_gap_pct": tail.as_dict(),
        "gap_within_noise": gap.within_noise if recipe.name != BASELINE else None,
        "tail_within_noise": tail.within_noise if recipe.name != BASELINE else None,
        "val_sampling_se_pct": statistics.fmean(ses) if ses and recipe.name != BASELINE else None,
    }
    if done:
        first = done[0]
        record.update(
            {
                "val_ppl": math.exp(record["val_loss"]),
                "train_tail_gap_pct": tail.mean,  # the mean, for readers of the single-seed records
                "tokens_per_s": statistics.fmean(r.tokens_per_s for r in done),
                "train_seconds": sum(r.train_seconds for r in done),
                "steps": first.steps,
                "step_ms": 1000 * sum(r.train_seconds for r in done) / sum(len(r.train_loss) for r in done),
                "final_train_loss": statistics.fmean(r.train_loss[-1] for r in done),
                "gemm_backend": first.gemm_backend,
                "train_loss": list(first.train_loss),  # the first seed's curves, for the plots
                "val_curve": [list(p) for p in first.val_curve],
                "per_seed": [
                    {"seed": s, "val_loss": float(runs[s].seq.mean()), "train_tail_loss": runs[s].tail}
                    for s in seeds
                    if runs[s].seq is not None
                ],
                **extra,
            }
        )
    return record


def _ablations(records: dict[str, dict], runs: dict[str, dict[int, _SeedRun]]) -> list[dict]:
    """Each nvfp4 ablation against the full recipe: the paired per-seed difference of their gaps."""
    out = []
    if "nvfp4" not in runs:
        return out
    for name in runs:
        if not name.startswith("nvfp4-"):
            continue
        for key in ("gap_pct", "tail_gap_pct"):
            diffs = []
            for a, b in zip(records[name][key]["per_seed"], records["nvfp4"][key]["per_seed"], strict=True):
                diffs.append(None if a is None or b is None else a - b)
            stat: PairedStat = paired_stat(diffs)
            out.append({"recipe": name, "vs": "nvfp4", "metric": key, "diff_pct": stat.as_dict(),
                        "verdict": separation(stat)})
    return out


def run_compare(
    preset: Preset,
    recipes: list[Recipe],
    corpus: Corpus,
    *,
    out_dir: Path,
    options: CompareOptions | None = None,
    events: CompareEvents | None = None,
    should_stop: Callable[[int], bool] | None = None,
) -> dict:
    """Train `recipes` (which must include bf16) on every seed, run PTQ on each BF16 model, return
    the record. Raises `RunInterrupted` (after checkpointing) when `should_stop` fires."""
    options = options or CompareOptions()
    if BASELINE not in [r.name for r in recipes]:
        raise CoscaleError("a comparison needs the bf16 baseline recipe")
    recipes = sorted(recipes, key=lambda r: r.name != BASELINE)  # the baseline first on every seed
    events = events or CompareEvents()
    tic = time.perf_counter()
    t = preset.train
    seeds = options.seeds
    tail_steps = options.tail_steps or default_tail_steps(t.steps)
    device = pick_device(t.device)
    val_set = val_batches(corpus, n_batches=t.compare_val_batches, batch_size=t.batch_size, seq_len=t.seq_len)
    runs: dict[str, dict[int, _SeedRun]] = {r.name: {} for r in recipes}
    ptq_seq: dict[str, dict[int, torch.Tensor]] = {q.name: {} for q in options.ptq_schemes}
    ptq_err: dict[str, list[float]] = {q.name: [] for q in options.ptq_schemes}
    for seed in seeds:
        for recipe in recipes:
            if events.on_run_start:
                events.on_run_start(recipe, t.steps, seed)
            try:
                result, model = train_run(
                    preset, recipe, corpus, seed=seed, out_dir=out_dir / "runs" / f"s{seed}" / recipe.name,
                    on_step=events.on_step, should_stop=should_stop, fp8_backend=options.fp8_backend,
                )
            except CoscaleError as exc:
                if recipe.name == BASELINE or "diverged" not in str(exc):
                    raise
                runs[recipe.name][seed] = _SeedRun(seq=None, tail=None, result=None, error=str(exc))
                continue
            if result.interrupted:
                raise RunInterrupted(f"interrupted in {recipe.name} (seed {seed}) at step {result.steps}")
            runs[recipe.name][seed] = _SeedRun(
                seq=sequence_losses(model, val_set, device), tail=tail_mean(result.train_loss, tail_steps),
                result=result,
            )
            if recipe.name == BASELINE:
                _ptq(model, options, corpus, preset, seed, device, val_set, ptq_seq, ptq_err, events)
    census = _census(preset, corpus, recipes, device)
    predicted = predict_recipes(options.target, [r.name for r in recipes]) if options.target else {}
    records = {}
    for recipe in recipes:
        model = build_model(preset, recipe, seed=seeds[0], vocab_size=corpus.vocab_size, device=torch.device("cpu"))
        extra = {
            "state_bytes": training_state_bytes(model, recipe),
            "high_precision_linears": sum(v == "bf16" for v in model.plan.values()),
            "quantized_linears": sum(v == "quant" for v in model.plan.values()),
            "low_precision_share": census.shares(model.plan),
            "predicted": predicted.get(recipe.name),
        }
        records[recipe.name] = _recipe_record(recipe, runs[recipe.name], runs[BASELINE], seeds, extra)
    base_seq = runs[BASELINE]
    ptq = [_ptq_record(q, ptq_seq[q.name], ptq_err[q.name], base_seq, seeds) for q in options.ptq_schemes]
    record = {
        "preset": preset.name,
        "seeds": list(seeds),
        "seed": seeds[0],
        "steps": t.steps,
        "tail_steps": tail_steps,
        "schedule": schedule_text(preset),
        "device": str(device),
        "fp8_backend": options.fp8_backend,
        "threads": torch.get_num_threads(),
        "tokens_per_step": t.batch_size * t.seq_len,
        "val_sequences": sum(x.shape[0] for x, _ in val_set),
        "val_tokens": sum(x.numel() for x, _ in val_set),
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
        "statistics": "per-seed paired gaps to bf16; mean and Student-t 95 % interval over the seeds",
        "runs": list(records.values()),
        "ablations": _ablations(records, runs),
        "ptq": ptq,
        "target": None if options.target is None else options.target.describe(),
        "wall_seconds": time.perf_counter() - tic,
    }
    write_json_atomic(out_dir / "compare.json", record)
    return record


def _ptq(model, options, corpus, preset, seed, device, val_set, ptq_seq, ptq_err, events) -> None:
    t = preset.train
    calib = [
        train_batch(corpus, seed=seed + 7919, step=i, batch_size=t.batch_size, seq_len=t.seq_len)[0].to(device)
        for i in range(options.calibration_batches)
    ]
    for scheme in options.ptq_schemes:
        if events.on_ptq:
            events.on_ptq(scheme, seed)
        qmodel = quantize_model(model, scheme, calibration=calib)
        ptq_seq[scheme.name][seed] = sequence_losses(qmodel, val_set, device)
        ptq_err[scheme.name].append(weight_error(model, qmodel))


def _ptq_record(scheme: PtqScheme, seqs: dict[int, torch.Tensor], errors: list[float], base, seeds) -> dict:
    gaps = [gap_pct(float(seqs[s].mean()), float(base[s].seq.mean())) for s in seeds]
    loss = statistics.fmean(float(seqs[s].mean()) for s in seeds)
    stat = paired_stat(gaps)
    return {
        "scheme": scheme.name,
        "label": scheme.label,
        "method": scheme.method,
        "weight": scheme.weight,
        "activation": scheme.activation or "bf16",
        "val_loss": loss,
        "val_ppl": math.exp(loss),
        "gap_pct": stat.as_dict(),
        "gap_within_noise": stat.within_noise,
        "val_sampling_se_pct": statistics.fmean(_paired_se_pct(seqs[s], base[s].seq) for s in seeds),
        "weight_rel_error": statistics.fmean(errors),
    }


def _census(preset: Preset, corpus: Corpus, recipes: list[Recipe], device: torch.device):
    """Parameter and GEMM-FLOP counts of the preset's model on one real batch (BF16 linears)."""
    bf16 = next(r for r in recipes if r.name == BASELINE)
    model = build_model(preset, bf16, seed=0, vocab_size=corpus.vocab_size, device=device)
    x, y = train_batch(corpus, seed=0, step=0, batch_size=2, seq_len=preset.train.seq_len)
    tokens = torch.cat([x, y[:, -1:]], dim=1).to(device)
    return linear_census(model, tokens)
