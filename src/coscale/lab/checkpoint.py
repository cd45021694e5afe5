"""Atomic, validated training checkpoints.

A checkpoint is written to a temporary file in the same folder and renamed over the old one, so a
crash mid-write leaves the previous checkpoint intact. It carries model, optimizer and RNG states,
the step (which is also the data position: batches are a pure function of seed and step) and a
`meta` record of everything that must match for a resume to continue the *same* run.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

from coscale.errors import CoscaleError

FORMAT = "coscale-lab-checkpoint"
VERSION = 1
REQUIRED = ("format", "version", "meta", "step", "model", "optimizer", "rng", "history")


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` atomically (temp file + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save({"format": FORMAT, "version": VERSION, **payload}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read and validate a checkpoint; anything unreadable is a CoscaleError, never a traceback."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/garbage files
        raise CoscaleError(
            f"checkpoint {str(path)!r} is corrupt or unreadable ({type(exc).__name__}); delete it or use another --out"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CoscaleError(f"{str(path)!r} is not a coscale lab checkpoint; delete it or use another --out")
    missing = [k for k in REQUIRED if k not in payload]
    if missing or payload["version"] != VERSION:
        raise CoscaleError(
            f"checkpoint {str(path)!r} is incomplete or from another version (missing {missing}); "
            "delete it or use another --out"
        )
    return payload


def _problem(payload: dict[str, Any], model: torch.nn.Module, opt: torch.optim.Optimizer) -> str | None:
    """The first way `payload` does not fit `model` and `opt`, or None."""
    step = payload["step"]
    if type(step) is not int or step < 0:
        return f"step {step!r} is not a non-negative integer"
    if not isinstance(payload["meta"], dict):
        return "meta is not a record"
    rng, ref = payload["rng"], torch.get_rng_state()
    if not isinstance(rng, torch.Tensor) or rng.dtype != ref.dtype or rng.shape != ref.shape:
        return "the RNG state is not a CPU generator state"
    state = payload["model"]
    if not isinstance(state, dict):
        return "the model state is not a state dict"
    expected = model.state_dict()
    if set(state) != set(expected):
        odd = sorted(set(state) ^ set(expected))[:3]
        return f"the model state has other tensors than this model ({', '.join(odd)} ...)"
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor) or got.shape != want.shape or got.dtype != want.dtype:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return f"tensor {key} is {shape}, this model needs {tuple(want.shape)} {want.dtype}"
        if got.is_floating_point() and not torch.isfinite(got).all():
            return f"tensor {key} holds NaN or Inf"
    problem = _optimizer_problem(payload["optimizer"], opt)
    return problem or _history_problem(payload["history"], step)


def _optimizer_problem(saved: Any, opt: torch.optim.Optimizer) -> str | None:
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict) or \
            not isinstance(saved.get("param_groups"), list):
        return "the optimizer state is not an AdamW state dict"
    params = [p for group in opt.param_groups for p in group["params"]]
    sizes = [len(g.get("params", ())) if isinstance(g, dict) else -1 for g in saved["param_groups"]]
    if sizes != [len(g["params"]) for g in opt.param_groups]:
        return "the optimizer's parameter groups do not match this model"
    for index, entry in saved["state"].items():
        if type(index) is not int or not 0 <= index < len(params) or not isinstance(entry, dict):
            return f"optimizer state entry {index!r} does not belong to this model"
        for name in ("exp_avg", "exp_avg_sq"):
            t = entry.get(name)
            if not isinstance(t, torch.Tensor) or t.shape != params[index].shape:
                return f"optimizer {name} of parameter {index} has the wrong shape"
    return None


def _history_problem(history: Any, step: int) -> str | None:
    if not isinstance(history, dict):
        return "history is not a record"
    losses = history.get("train_loss")
    if not isinstance(losses, list) or len(losses) != step:
        n = len(losses) if isinstance(losses, list) else "no"
        return f"history has {n} train losses for step {step}"
    if not all(isinstance(v, float) and math.isfinite(v) for v in losses):
        return "history holds a non-finite or non-numeric train loss"
    curve = history.get("val_curve")
    if not isinstance(curve, list) or not all(
        isinstance(p, (list, tuple)) and len(p) == 2 and type(p[0]) is int and 0 < p[0] <= step
        and isinstance(p[1], float) for p in curve
    ) or [p[0] for p in curve] != sorted({p[0] for p in curve}):
        return "history's validation curve is not increasing (step, loss) pairs up to the step"
    seconds, tokens = history.get("train_seconds"), history.get("tokens")
    if not isinstance(seconds, float) or not seconds >= 0 or type(tokens) is not int or tokens < 0:
        return "history's train_seconds / tokens are not non-negative numbers"
    return None


def validate_checkpoint(
    path: Path, payload: dict[str, Any], model: torch.nn.Module, opt: torch.optim.Optimizer
) -> None:
    """Refuse a checkpoint whose contents do not fit this run, before any of it is loaded."""
    problem = _problem(payload, model, opt)
    if problem:
        raise CoscaleError(f"checkpoint {str(path)!r} is invalid: {problem}; delete it or use another --out")


def check_same_run(path: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to resume a checkpoint written by a different configuration (it would be overwritten)."""
    diffs = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if "steps" in diffs and set(diffs) <= {"steps", "train"}:  # only the run length (and its warm-up)
        raise CoscaleError(
            f"checkpoint {str(path)!r} is a {saved['steps']}-step run and the schedule depends on the length; "
            f"resume with --steps {saved['steps']}, or use another --out for a {current['steps']}-step run"
        )
    if diffs:
        raise CoscaleError(
            f"checkpoint {str(path)!r} belongs to a different run (differs in {', '.join(diffs)}); "
            "use another --out or delete the checkpoint"
        )
