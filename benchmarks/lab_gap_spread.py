"""Where the seed-to-seed spread of a recipe's paired validation gap comes from, measured.

For each seed, BF16, a quantized recipe and a *null* control (BF16 whose initial weights get a
relative perturbation of 1e-6, far below any rounding step: a recipe with no systematic effect)
train on the same batches. The paired gap to BF16 on the comparison's validation set is recorded
at every `--every` steps over the last `--window` steps, for the raw weights and for an EMA of the
weights. Printed per schedule (`--min-lr` values; 0.1 is the lab's old floor): the across-seed
standard deviation of the gap at the last step, of the mean over the last evaluations and on the
EMA weights, the mean within-seed step-to-step change of the gap (last-step fluctuation), and the
same for the null control (trajectory divergence alone). The validation set's own paired sampling
error is printed beside them.

    python benchmarks/lab_gap_spread.py --preset ci --seeds 6 --recipe fp8-tensor --min-lr 0.1,0.0

`--recipe` takes a comma-separated list (BF16 and the null control then train once per seed for
all of them); `NAME:hN` is recipe NAME with every delayed-scaling amax history set to N steps, e.g.
`fp8-delayed:h16`. `--first-seed` starts the seeds elsewhere than 0 (seeds are never picked: a
range is run whole). Beside each sd the expected 3-seed 95 % half-width t(0.975, 2) sd / sqrt(3)
is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import time

import torch

from coscale.lab.config import get_preset
from coscale.lab.data import load_corpus, train_batch, val_batches
from coscale.lab.recipes import get_recipe
from coscale.lab.stats import t975
from coscale.lab.train import build_model, make_optimizer, sequence_losses, train_step

T3 = t975(2)  # the 3-seed interval's t quantile, 4.303


def trajectory(preset, recipe, corpus, seed, val_set, eval_steps, ema_decay, perturb):
    """Per-sequence validation losses at `eval_steps` (raw weights) and at the end (EMA weights)."""
    t = preset.train
    device = torch.device("cpu")
    model = build_model(preset, recipe, seed=seed, vocab_size=corpus.vocab_size, device=device)
    if perturb:
        gen = torch.Generator().manual_seed(10_000 + seed)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 + perturb * torch.randn(p.shape, generator=gen))
    opt = make_optimizer(model, t.lr, t.weight_decay)
    ema = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(seed)
    model.train()
    out = {}
    for step in range(t.steps):
        x, y = train_batch(corpus, seed=seed, step=step, batch_size=t.batch_size, seq_len=t.seq_len)
        train_step(model, opt, preset, step, x, y, recipe.name)
        with torch.no_grad():
            for e, p in zip(ema, model.parameters(), strict=True):
                e.lerp_(p.detach(), 1 - ema_decay)
        if step + 1 in eval_steps:
            out[step + 1] = sequence_losses(model, val_set, device)
    with torch.no_grad():
        for e, p in zip(ema, model.parameters(), strict=True):
            p.copy_(e)
    out["ema"] = sequence_losses(model, val_set, device)
    return out


def recipe_from(spec: str):
    """A registry recipe, or `NAME:hN`: NAME with every delayed-scaling amax history set to N."""
    name, _, hist = spec.partition(":")
    recipe = get_recipe(name)
    if not hist:
        return recipe
    n = int(hist.removeprefix("h"))
    ops = {f.name: getattr(recipe.linears, f.name) for f in dataclasses.fields(recipe.linears)}
    ops = {k: dataclasses.replace(v, amax_history=n) if v is not None and v.amax_history else v
           for k, v in ops.items()}
    return dataclasses.replace(recipe, name=spec, linears=type(recipe.linears)(**ops))


def gap(a, b):
    return 100.0 * (float(a.mean()) - float(b.mean())) / float(b.mean())


def sd(values):
    return statistics.stdev(values) if len(values) > 1 else math.nan


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="ci")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--recipe", default="fp8-tensor")
    ap.add_argument("--min-lr", default="0.1,0.0")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the preset's)")
    ap.add_argument("--batch-size", type=int, default=None, help="sequences per step (default: the preset's)")
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--ema", type=float, default=0.9)
    ap.add_argument("--perturb", type=float, default=1e-6)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    base_preset = get_preset(args.preset, steps=args.steps)
    sizes = {k: v for k, v in (("lr", args.lr), ("batch_size", args.batch_size)) if v is not None}
    base_preset = dataclasses.replace(base_preset, train=dataclasses.replace(base_preset.train, **sizes))
    t0 = base_preset.train
    corpus = load_corpus(data_dir=None, max_bytes=t0.data_bytes, val_fraction=t0.val_fraction)
    val_set = val_batches(corpus, n_batches=t0.compare_val_batches, batch_size=t0.batch_size, seq_len=t0.seq_len)
    eval_steps = set(range(t0.steps - args.window + args.every, t0.steps + 1, args.every))
    rows = []
    for floor in (float(v) for v in args.min_lr.split(",")):
        preset = dataclasses.replace(base_preset, train=dataclasses.replace(t0, min_lr_ratio=floor))
        tic = time.perf_counter()
        specs = args.recipe.split(",")
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        per = {key: {} for key in (*specs, "null")}
        se = {spec: [] for spec in specs}
        for seed in seeds:
            b = trajectory(preset, get_recipe("bf16"), corpus, seed, val_set, eval_steps, args.ema, 0.0)
            n = trajectory(preset, get_recipe("bf16"), corpus, seed, val_set, eval_steps, args.ema, args.perturb)
            runs = {"null": n}
            for spec in specs:
                q = runs[spec] = trajectory(preset, recipe_from(spec), corpus, seed, val_set, eval_steps, args.ema, 0.0)
                d = (q[t0.steps] - b[t0.steps]).double()
                se[spec].append(100 * float(d.std() / math.sqrt(d.numel())) / float(b[t0.steps].mean()))
            steps = sorted(eval_steps)
            for key, run in runs.items():
                per[key][seed] = {"curve": [gap(run[s], b[s]) for s in steps], "ema": gap(run["ema"], b["ema"])}
                print(f"  seed {seed} {key}: last gap {per[key][seed]['curve'][-1]:+.3f} %", flush=True)
        for key in (*specs, "null"):
            curves = [per[key][s]["curve"] for s in seeds]
            last = [c[-1] for c in curves]
            window = [statistics.fmean(c) for c in curves]
            emas = [per[key][s]["ema"] for s in seeds]
            jitter = statistics.fmean(sd([c[i + 1] - c[i] for i in range(len(c) - 1)]) if len(c) > 2 else math.nan
                                      for c in curves)
            rows.append({
                "min_lr_ratio": floor,
                "what": key if key != "null" else f"null (init x(1+{args.perturb:g}N))",
                "seeds": list(seeds),
                "last": {"mean": statistics.fmean(last), "sd": sd(last), "per_seed": last,
                         "half_width_3_seeds": T3 * sd(last) / math.sqrt(3)},
                "window_mean": {"mean": statistics.fmean(window), "sd": sd(window), "per_seed": window},
                "ema": {"mean": statistics.fmean(emas), "sd": sd(emas), "per_seed": emas},
                "step_to_step_sd": jitter,
                "val_sampling_se": statistics.fmean(se[key]) if key in se else None,
                "seconds": time.perf_counter() - tic,
            })
            r = rows[-1]
            print(f"min_lr {floor:g} {r['what']:>28}: sd over {args.seeds} seeds of gap % - last {r['last']['sd']:.3f}"
                  f" (mean {r['last']['mean']:+.3f}; 3-seed half-width {r['last']['half_width_3_seeds']:.2f}), "
                  f"mean of evals in last {args.window} steps "
                  f"{r['window_mean']['sd']:.3f} (mean {r['window_mean']['mean']:+.3f}), "
                  f"EMA {r['ema']['sd']:.3f} (mean {r['ema']['mean']:+.3f}); step-to-step sd {jitter:.3f}"
                  + (f"; val sampling se {r['val_sampling_se']:.3f}" if r["val_sampling_se"] else ""), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
