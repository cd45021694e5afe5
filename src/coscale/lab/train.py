"""The training loop: one code path for every recipe, resumable, deterministic on CPU.

Master weights and AdamW moments are FP32 in every recipe; a recipe only changes the operands of
the linear-layer GEMMs. Evaluation runs on a copy of the model inside a forked RNG, so measuring
validation loss never perturbs training (delayed-scaling amax histories, stochastic rounding).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from coscale.errors import CoscaleError
from coscale.lab.apply import apply_recipe
from coscale.lab.checkpoint import check_same_run, load_checkpoint, save_checkpoint, validate_checkpoint
from coscale.lab.config import Preset
from coscale.lab.data import Corpus, train_batch, val_batches
from coscale.lab.fp8_real import resolve_backend
from coscale.lab.model import LabLM
from coscale.lab.recipes import Recipe
from coscale.lab.threads import pick_threads

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True, kw_only=True, slots=True)
class StepInfo:
    step: int
    steps: int
    loss: float
    tokens_per_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    recipe: str
    steps: int
    train_loss: tuple[float, ...]  # cross-entropy per step (nats/token)
    val_curve: tuple[tuple[int, float], ...]
    val_loss: float
    tokens_per_s: float
    train_seconds: float
    interrupted: bool = False
    resumed_from: int = 0
    plan: dict[str, str] = field(default_factory=dict)
    gemm_backend: str = "emulated"  # what the linears ran: 'emulated' or 'real' tensor-core GEMMs


def pick_device(preference: str) -> torch.device:
    if preference == "cuda" and not torch.cuda.is_available():
        raise CoscaleError("device 'cuda' requested but no CUDA GPU is available; use a CPU preset")
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def build_model(
    preset: Preset, recipe: Recipe, *, seed: int, vocab_size: int, device: torch.device, backend: str = "emulated"
) -> LabLM:
    """Same seed -> same FP32 initial weights for every recipe; then the recipe swaps the linears."""
    torch.manual_seed(seed)
    model = LabLM(dataclasses.replace(preset.model, vocab_size=vocab_size)).to(device)
    model.plan = apply_recipe(model, recipe, seed=seed, backend=backend)
    return model


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def lr_at(step: int, preset: Preset) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio * lr` at the end of the run (0 by default:
    the last updates are near zero, see `TrainConfig.min_lr_ratio`)."""
    t = preset.train
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
    return t.lr * (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_step(model: LabLM, opt: torch.optim.Optimizer, preset: Preset, step: int, x: torch.Tensor,
               y: torch.Tensor, recipe_name: str) -> torch.Tensor:
    """One optimizer step at the schedule's learning rate, gradients clipped; returns the batch's
    cross-entropy (before the update). A non-finite loss stops the run."""
    for group in opt.param_groups:
        group["lr"] = lr_at(step, preset)
    loss, ce = model.loss(x, y)
    if not torch.isfinite(loss):
        raise CoscaleError(
            f"recipe {recipe_name!r} diverged at step {step} (loss {loss.item()}); the last good checkpoint was kept"
        )
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), preset.train.grad_clip)
    opt.step()
    return ce


def schedule_text(preset: Preset) -> str:
    """The learning-rate schedule in words, for the comparison's record."""
    t = preset.train
    return (f"linear warm-up over {t.warmup_steps} steps to {t.lr:g}, cosine decay to {t.min_lr_ratio * t.lr:g} "
            f"at step {t.steps}; validation on the final weights")


@torch.no_grad()
def evaluate(model: LabLM, batches: list[tuple[torch.Tensor, ...]], device: torch.device) -> float:
    """Mean next-token cross-entropy over fixed batches, on a throw-away copy of the model."""
    clone = copy.deepcopy(model).eval()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        losses = [clone.loss(x.to(device), y.to(device))[1].item() for x, y in batches]
    return sum(losses) / len(losses)


@torch.no_grad()
def sequence_losses(model: LabLM, batches: list[tuple[torch.Tensor, ...]], device: torch.device) -> torch.Tensor:
    """Mean next-token cross-entropy of every validation sequence (float64, CPU), on a copy of the
    model inside a forked RNG like `evaluate`: the unit a paired sampling error is computed over."""
    clone = copy.deepcopy(model).eval()
    out = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for x, y in batches:
            logits = clone(x.to(device))
            clone.take_aux_loss()
            ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y.to(device), reduction="none")
            out.append(ce.double().mean(dim=1).cpu())
    return torch.cat(out)


def run_meta(preset: Preset, recipe: Recipe, seed: int, corpus: Corpus, backend: str = "emulated") -> dict:
    """What must match for a checkpoint to be resumed. The run length is part of it: the warm-up and
    the cosine decay depend on --steps, so extending a run would match no fresh run. Eval and
    checkpoint cadence may change."""
    train = dataclasses.asdict(preset.train)
    for free in ("steps", "eval_every", "checkpoint_every", "eval_batches", "compare_val_batches", "threads"):
        train.pop(free)
    meta = {
        "preset": preset.name,
        "steps": preset.train.steps,
        "model": repr(preset.model),
        "train": repr(train),
        "recipe": repr(recipe),
        "seed": seed,
        "data": corpus.fingerprint,
        "vocab": corpus.vocab_size,
    }
    if backend != "emulated":  # real GEMMs round differently: a different run (older checkpoints lack the key)
        meta["backend"] = backend
    return meta


def train_run(
    preset: Preset,
    recipe: Recipe,
    corpus: Corpus,
    *,
    seed: int,
    out_dir: Path | None,
    on_step: Callable[[StepInfo], None] | None = None,
    should_stop: Callable[[int], bool] | None = None,
    fp8_backend: str = "emulated",
) -> tuple[RunResult, LabLM]:
    """Train (or resume) one run; checkpoints go to `out_dir/checkpoint.pt` when out_dir is given.

    fp8_backend 'real' runs real BF16/FP8 GEMMs where the device has FP8 tensor cores and falls
    back to the emulated GEMMs elsewhere (`fp8_real.resolve_backend` says why)."""
    t = preset.train
    # the preset's (or the CLI's load-aware) thread count, never more than this process's cores
    torch.set_num_threads(pick_threads(t.threads, load=0.0).threads)
    device = pick_device(t.device)
    backend = resolve_backend(fp8_backend, device).effective
    model = build_model(preset, recipe, seed=seed, vocab_size=corpus.vocab_size, device=device, backend=backend)
    opt = make_optimizer(model, t.lr, t.weight_decay)
    meta = run_meta(preset, recipe, seed, corpus, backend)
    ckpt_path = None if out_dir is None else Path(out_dir) / CHECKPOINT
    history: dict = {"train_loss": [], "val_curve": [], "train_seconds": 0.0, "tokens": 0}
    start = 0
    torch.manual_seed(seed)
    if ckpt_path is not None and ckpt_path.exists():
        saved = load_checkpoint(ckpt_path)
        validate_checkpoint(ckpt_path, saved, model, opt)
        check_same_run(ckpt_path, saved["meta"], meta)
        if saved["step"] > t.steps:
            raise CoscaleError(
                f"checkpoint {str(ckpt_path)!r} is at step {saved['step']} > --steps {t.steps}; "
                "pass a larger --steps or another --out"
            )
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        history, start = saved["history"], saved["step"]
    val_set = val_batches(corpus, n_batches=t.eval_batches, batch_size=t.batch_size, seq_len=t.seq_len)

    def checkpoint(step: int) -> None:
        if ckpt_path is not None:
            save_checkpoint(
                ckpt_path,
                {
                    "meta": meta,
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "rng": torch.get_rng_state(),
                    "history": history,
                },
            )

    step, interrupted = start, False
    if on_step is not None and start > 0:  # show where a resumed run picks up
        on_step(
            StepInfo(
                step=start,
                steps=t.steps,
                loss=history["train_loss"][-1],
                tokens_per_s=history["tokens"] / max(history["train_seconds"], 1e-9),
            )
        )
    model.train()
    while step < t.steps:
        x, y = train_batch(corpus, seed=seed, step=step, batch_size=t.batch_size, seq_len=t.seq_len)
        tic = time.perf_counter()
        ce = train_step(model, opt, preset, step, x.to(device), y.to(device), recipe.name)
        ce_value = ce.item()  # synchronises the device, so the timing below is honest
        history["train_seconds"] += time.perf_counter() - tic
        history["tokens"] += x.numel()
        history["train_loss"].append(ce_value)
        step += 1
        if step % t.eval_every == 0 or step == t.steps:
            history["val_curve"].append((step, evaluate(model, val_set, device)))
        if on_step is not None:
            on_step(
                StepInfo(
                    step=step,
                    steps=t.steps,
                    loss=ce_value,
                    tokens_per_s=history["tokens"] / max(history["train_seconds"], 1e-9),
                )
            )
        stop = should_stop is not None and should_stop(step)
        if step % t.checkpoint_every == 0 or step == t.steps or stop:
            checkpoint(step)
        if stop and step < t.steps:
            interrupted = True
            break
    curve = [tuple(p) for p in history["val_curve"]]
    if not curve or curve[-1][0] != step:
        curve.append((step, evaluate(model, val_set, device)))
    result = RunResult(
        recipe=recipe.name,
        steps=step,
        train_loss=tuple(history["train_loss"]),
        val_curve=tuple(curve),
        val_loss=curve[-1][1],
        tokens_per_s=history["tokens"] / max(history["train_seconds"], 1e-9),
        train_seconds=history["train_seconds"],
        interrupted=interrupted,
        resumed_from=start,
        plan=model.plan,
        gemm_backend=backend,
    )
    return result, model
