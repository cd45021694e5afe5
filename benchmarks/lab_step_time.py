"""Step time of the lab model per precision recipe: the cost of emulating low precision.

Emulated formats run as FP32 GEMMs on fake-quantized operands, so this measures emulation overhead
against the BF16-emulating baseline, not the speed-up real FP8/FP4 hardware would give.

    python benchmarks/lab_step_time.py --preset ci --steps 10 [--recipes bf16,nvfp4]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from coscale.lab.config import get_preset
from coscale.lab.data import load_corpus, train_batch
from coscale.lab.recipes import get_recipe, list_recipes
from coscale.lab.train import build_model, make_optimizer, pick_device


def step_times(preset_name: str, recipes: list[str], steps: int, warmup: int = 2) -> list[dict]:
    preset = get_preset(preset_name)
    t = preset.train
    torch.set_num_threads(t.threads)
    device = pick_device(t.device)
    corpus = load_corpus(data_dir=None, max_bytes=t.data_bytes, val_fraction=t.val_fraction)
    rows = []
    for name in recipes:
        model = build_model(preset, get_recipe(name), seed=0, vocab_size=corpus.vocab_size, device=device)
        opt = make_optimizer(model, t.lr, t.weight_decay)
        times = []
        for step in range(warmup + steps):
            x, y = (
                b.to(device) for b in train_batch(corpus, seed=0, step=step, batch_size=t.batch_size, seq_len=t.seq_len)
            )
            if device.type == "cuda":
                torch.cuda.synchronize()
            tic = time.perf_counter()
            loss, _ = model.loss(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if step >= warmup:
                times.append(time.perf_counter() - tic)
        times.sort()
        rows.append(
            {
                "recipe": name,
                "median_step_s": times[len(times) // 2],
                "min_step_s": times[0],
                "tokens_per_step": t.batch_size * t.seq_len,
                "device": str(device),
            }
        )
    base = next((r["median_step_s"] for r in rows if r["recipe"] == "bf16"), None)
    for r in rows:
        r["vs_bf16"] = None if base is None else r["median_step_s"] / base
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ci")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--recipes", default=",".join(list_recipes()))
    args = parser.parse_args()
    rows = step_times(args.preset, args.recipes.split(","), args.steps)
    for r in rows:
        ratio = "" if r["vs_bf16"] is None else f"{r['vs_bf16']:.2f}x bf16"
        print(f"{r['recipe']:15s} {1000 * r['median_step_s']:8.1f} ms/step  {ratio}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
