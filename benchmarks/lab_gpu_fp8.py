"""Real FP8 GEMMs vs emulated FP8 vs BF16 on the lab's `gpu` preset: loss agreement and step time.

    PYTHONPATH=src python benchmarks/lab_gpu_fp8.py --out DIR [--steps 300] [--budget-s 170]

Four runs on the same batches (batches are a pure function of seed and step): BF16 (real bfloat16
GEMMs), the FP8 recipe with real FP8 GEMMs (`torch._scaled_mm`), the same recipe emulated (FP32
GEMMs on FP8-rounded operands), and the real-FP8 run again with another seed, whose distance is the
seed noise the real-vs-emulated difference is judged against. A short probe of every variant times
a few steps first and shortens --steps (the same for all runs) so the training fits --budget-s.
Step times are medians over the steady-state steps (after the first 10 %, eval steps excluded);
the device is synchronised every step by the loss read-back. On a machine without FP8 tensor cores
the real path falls back to emulation with a one-line message, and the record says so. Writes
DIR/lab_gpu_fp8.json; the last line printed is the same record as one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

from coscale.errors import CoscaleError
from coscale.lab.config import get_preset
from coscale.lab.data import load_corpus
from coscale.lab.fp8_real import resolve_backend
from coscale.lab.recipes import get_recipe
from coscale.lab.train import StepInfo, pick_device, train_run


def _with(preset, **train):
    return dataclasses.replace(preset, train=dataclasses.replace(preset.train, **train))


def _run(preset, recipe, corpus, *, seed, backend, label):
    """One run; returns its record (step times from wall-clock intervals between synchronised steps)."""
    stamps: list[float] = []
    device = pick_device(preset.train.device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    tic = time.perf_counter()

    def on_step(info: StepInfo) -> None:
        stamps.append(time.perf_counter())

    try:
        result, _ = train_run(preset, recipe, corpus, seed=seed, out_dir=None, on_step=on_step, fp8_backend=backend)
    except (CoscaleError, RuntimeError, TypeError, ValueError) as exc:  # keep the other runs' figures
        return {"label": label, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
    wall = time.perf_counter() - tic
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    eval_steps = {s for s, _ in result.val_curve}
    skip = max(1, len(intervals) // 10)
    steady = [d for i, d in enumerate(intervals) if i >= skip and (i + 2) not in eval_steps]
    tail = max(1, len(result.train_loss) // 10)
    record = {
        "label": label,
        "recipe": recipe.name,
        "seed": seed,
        "backend_requested": backend,
        "backend": result.gemm_backend,
        "steps": result.steps,
        "val_loss": result.val_loss,
        "final_train_loss": result.train_loss[-1],
        "train_tail_loss": sum(result.train_loss[-tail:]) / tail,
        "tail_steps": tail,
        "step_ms_median": 1000 * statistics.median(steady or intervals or [result.train_seconds]),
        "tokens_per_s": result.tokens_per_s,
        "wall_s": wall,
        "diverged": not math.isfinite(result.val_loss),
    }
    if device.type == "cuda":
        record["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return record


def _probe(preset, recipe, corpus, backend, steps: int) -> float:
    """Median seconds per step over a few steps (first ones discarded: allocator and cuBLAS warm-up)."""
    rec = _run(_with(preset, steps=steps, eval_batches=1, eval_every=steps, warmup_steps=1), recipe, corpus,
               seed=0, backend=backend, label="probe")
    return math.inf if "error" in rec else rec["step_ms_median"] / 1000


def _pct(a: float, b: float) -> float:
    return 100.0 * (a - b) / b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for lab_gpu_fp8.json")
    ap.add_argument("--preset", default="gpu", help="lab preset (gpu; ci for a quick CPU check)")
    ap.add_argument("--recipe", default="fp8-tensor", help="a per-tensor FP8 recipe: fp8-tensor or fp8-delayed")
    ap.add_argument("--steps", type=int, default=300, help="training steps per run (shortened to fit --budget-s)")
    ap.add_argument("--min-steps", type=int, default=60, help="never shorten below this")
    ap.add_argument("--budget-s", type=float, default=170.0, help="seconds of training for all four runs together")
    ap.add_argument("--backend", default="real", help="real (default) or emulated for the 'real' runs (a control)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    base = get_preset(args.preset, steps=args.steps)
    device = pick_device(base.train.device)
    gemm = resolve_backend(args.backend, device)
    if gemm.reason:
        print(gemm.reason, file=sys.stderr)
    corpus = load_corpus(data_dir=None, max_bytes=base.train.data_bytes, val_fraction=base.train.val_fraction)
    bf16, fp8 = get_recipe("bf16"), get_recipe(args.recipe)
    variants = [
        ("bf16", bf16, 0, args.backend),
        ("fp8_real", fp8, 0, args.backend),
        ("fp8_emulated", fp8, 0, "emulated"),
        ("fp8_real_seed1", fp8, 1, args.backend),
    ]
    probe_steps = max(2, min(6, args.steps))
    probe = {label: _probe(base, r, corpus, b, probe_steps) for label, r, _, b in variants[:3]}
    probe["fp8_real_seed1"] = probe["fp8_real"]
    per_step = sum(probe.values())
    eval_cost = 0.5 * base.train.eval_batches * per_step  # each run's final evaluation (forward only), with margin
    fit = int((args.budget_s - eval_cost) / per_step) if math.isfinite(per_step) else args.min_steps
    steps = max(min(args.min_steps, args.steps), min(args.steps, fit))  # never more than --steps
    preset = _with(get_preset(args.preset, steps=steps), eval_every=steps)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), torch "
          f"{torch.__version__}, backend {gemm.effective}; probe s/step " +
          ", ".join(f"{k} {v:.4f}" for k, v in probe.items()) + f"; running {steps} steps per run", file=sys.stderr)
    runs = {}
    for label, recipe, seed, backend in variants:
        runs[label] = _run(preset, recipe, corpus, seed=seed, backend=backend, label=label)
        print(json.dumps(runs[label]), file=sys.stderr)
    ok = all("error" not in r for r in runs.values())
    summary: dict = {}
    if ok:
        b, real, emu, other = (runs[k] for k in ("bf16", "fp8_real", "fp8_emulated", "fp8_real_seed1"))
        noise_val = abs(_pct(other["val_loss"], real["val_loss"]))
        noise_tail = abs(_pct(other["train_tail_loss"], real["train_tail_loss"]))
        summary = {
            "real_vs_emulated_val_pct": _pct(real["val_loss"], emu["val_loss"]),
            "real_vs_emulated_tail_pct": _pct(real["train_tail_loss"], emu["train_tail_loss"]),
            "seed_noise_val_pct": noise_val,
            "seed_noise_tail_pct": noise_tail,
            "agree_within_seed_noise": abs(_pct(real["val_loss"], emu["val_loss"])) <= max(noise_val, 1e-9),
            "fp8_real_vs_bf16_val_gap_pct": _pct(real["val_loss"], b["val_loss"]),
            "speedup_real_fp8_over_bf16": b["step_ms_median"] / real["step_ms_median"],
            "emulation_overhead_vs_bf16": emu["step_ms_median"] / b["step_ms_median"],
            "emulated_over_real_fp8": emu["step_ms_median"] / real["step_ms_median"],
        }
    record = {
        "benchmark": "lab_gpu_fp8",
        "preset": args.preset,
        "recipe": args.recipe,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "backend_requested": args.backend,
        "backend": gemm.effective,
        "fallback_reason": gemm.reason,
        "steps": steps,
        "tokens_per_step": preset.train.batch_size * preset.train.seq_len,
        "val_tokens": preset.train.eval_batches * preset.train.batch_size * preset.train.seq_len,
        "probe_s_per_step": probe,
        "runs": runs,
        "summary": summary,
        "ok": ok,
        "wall_s": time.perf_counter() - t0,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / ".lab_gpu_fp8.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(args.out / "lab_gpu_fp8.json")
    if summary:
        print(f"real FP8 vs emulated: val {summary['real_vs_emulated_val_pct']:+.3f} % (seed noise "
              f"{summary['seed_noise_val_pct']:.3f} %); real FP8 {summary['speedup_real_fp8_over_bf16']:.2f}x "
              f"BF16's speed; emulated FP8 {summary['emulation_overhead_vs_bf16']:.2f}x BF16's step time")
    print(json.dumps(record))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
