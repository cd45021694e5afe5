"""How often FP8 delayed scaling clamps, per step and per seed, and what it does to the paired gap.

Under delayed scaling an operand is scaled by the max amax of the previous steps (its history);
any element above that reference saturates at the format's max (448 for E4M3, 57344 for E5M2).
This script trains BF16 and `fp8-delayed` variants on each seed (the same batches as `lab compare`)
and, without touching the package, wraps every `QuantLinear.quantize_operand` to count, for each
training step, the elements of the activation (fprop input), weight (fprop weight) and output
gradient (dgrad grad_output) whose magnitude exceeds the reference amax the scale was built from.
Printed per variant and seed: clamped elements in total and as a share of all quantized elements,
the steps with any clamping, the largest overshoot current_amax / reference_amax, and the paired
validation gap to BF16 on the comparison's validation set.

Variants (`--variants`): `h<N>` = amax history of N steps, "max" algorithm (the registry's recipe
uses its own length); `h<N>-te1` = the same, but the very first step uses TE's initial scale 1.0
(TE initialises scales to 1 and the history to 0; our QuantLinear uses the current amax instead).

    python benchmarks/lab_delayed_saturation.py --preset ci --seeds 0,1,2 --variants h16,h1024
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import defaultdict

import torch

from coscale.lab.config import get_preset
from coscale.lab.data import load_corpus, train_batch, val_batches
from coscale.lab.recipes import get_recipe
from coscale.lab.train import build_model, make_optimizer, sequence_losses, train_step
from coscale.numerics import QuantLinear
from coscale.numerics.formats import get_format
from coscale.numerics.qlinear_config import OperandQuant, QuantLinearConfig
from coscale.numerics.schemes import get_scheme

ROLES = {"fprop_input": "act", "fprop_weight": "weight", "dgrad_grad_output": "grad"}


def delayed_variant(history: int):
    """fp8-delayed with another amax history length (E4M3 forward, E5M2 gradients, 'max')."""
    base = get_recipe("fp8-delayed")
    f = OperandQuant(scheme="fp8_e4m3_tensor", amax_history=history)
    g = OperandQuant(scheme="fp8_e5m2_tensor", amax_history=history)
    linears = QuantLinearConfig(fprop_input=f, fprop_weight=f, dgrad_grad_output=g, dgrad_weight=f,
                                wgrad_grad_output=g, wgrad_input=f)
    return dataclasses.replace(base, name=f"fp8-delayed-h{history}", linears=linears)


def instrument(model, log, te_first_step: bool) -> None:
    """Count clamped elements of every delayed-scaled operand in training steps (log[step][role])."""
    for path, layer in ((p, m) for p, m in model.named_modules() if isinstance(m, QuantLinear)):
        original = layer.quantize_operand
        original_scale = layer._delayed_scale

        def scale_fn(t, name, op, update, _layer=layer, _orig=original_scale):
            hist = getattr(_layer, f"amax_history_{name}")
            if te_first_step and float(hist.max()) == 0.0:  # TE: initial scale 1 (decode scale 1)
                _orig(t, name, op, update)  # still records this step's amax in the history
                return torch.ones((), dtype=torch.float32, device=t.device)
            return _orig(t, name, op, update)

        def wrapped(t, name, step, update=False, _layer=layer, _orig=original, _path=path):
            op = _layer.config.operand(name)
            if update and op is not None and op.amax_history and name in ROLES:
                hist = getattr(_layer, f"amax_history_{name}")
                fmax = get_format(get_scheme(op.scheme).element).max
                past = float(hist.max())
                amax = float(t.detach().abs().amax())
                ref = (fmax if te_first_step else amax) if past == 0.0 else past
                n = int((t.detach().abs() > ref).sum())
                rec = log[step][ROLES[name]]
                rec["clamped"] += n
                rec["total"] += t.numel()
                rec["overshoot"] = max(rec["overshoot"], amax / ref if ref > 0 else 0.0)
                log["by_layer"][f"{_path}.{ROLES[name]}"]["clamped"] += n
            return _orig(t, name, step, update)

        layer.quantize_operand = wrapped
        layer._delayed_scale = scale_fn


def train(preset, recipe, corpus, seed, val_set, te_first_step=False):
    t = preset.train
    device = torch.device("cpu")
    model = build_model(preset, recipe, seed=seed, vocab_size=corpus.vocab_size, device=device)
    log = defaultdict(lambda: defaultdict(lambda: {"clamped": 0, "total": 0, "overshoot": 0.0}))
    instrument(model, log, te_first_step)
    opt = make_optimizer(model, t.lr, t.weight_decay)
    torch.manual_seed(seed)
    model.train()
    for step in range(t.steps):
        x, y = train_batch(corpus, seed=seed, step=step, batch_size=t.batch_size, seq_len=t.seq_len)
        train_step(model, opt, preset, step, x, y, recipe.name)
    return float(sequence_losses(model, val_set, device).mean()), log


def summary(log) -> dict:
    layers = log.pop("by_layer", {})
    out = {"top_layers": sorted(((k, v["clamped"]) for k, v in layers.items()), key=lambda kv: -kv[1])[:4]}
    for role in ROLES.values():
        clamped = sum(log[s][role]["clamped"] for s in log)
        total = sum(log[s][role]["total"] for s in log)
        steps = sorted(s for s in log if log[s][role]["clamped"])
        out[role] = {
            "clamped": clamped,
            "share": clamped / max(total, 1),
            "steps_with_clamping": len(steps),
            "first_steps": steps[:8],
            "max_overshoot": max(log[s][role]["overshoot"] for s in log),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="ci")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default="h16,h1024")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    preset = get_preset(args.preset)
    t = preset.train
    corpus = load_corpus(data_dir=None, max_bytes=t.data_bytes, val_fraction=t.val_fraction)
    val_set = val_batches(corpus, n_batches=t.compare_val_batches, batch_size=t.batch_size, seq_len=t.seq_len)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        tic = time.perf_counter()
        base, _ = train(preset, get_recipe("bf16"), corpus, seed, val_set)
        for variant in args.variants.split(","):
            history, _, te = variant[1:].partition("-")
            val, log = train(preset, delayed_variant(int(history)), corpus, seed, val_set, te_first_step=te == "te1")
            s = summary(log)
            gap = 100.0 * (val - base) / base
            rows.append({"seed": seed, "variant": variant, "gap_pct": gap, **s})
            print(f"seed {seed} {variant:>9}: gap {gap:+.3f} %  " + "  ".join(
                f"{role} clamped {s[role]['clamped']} ({100 * s[role]['share']:.4f} %) in "
                f"{s[role]['steps_with_clamping']} steps {s[role]['first_steps']}, "
                f"overshoot x{s[role]['max_overshoot']:.2f}"
                for role in ROLES.values()) + f"  top {s['top_layers']}", flush=True)
        print(f"seed {seed}: {time.perf_counter() - tic:.0f} s", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
