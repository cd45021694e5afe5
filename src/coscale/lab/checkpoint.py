"""Atomic, validated training checkpoints.

A checkpoint is written to a temporary file in the same folder and renamed over the old one, so a
crash mid-write leaves the previous checkpoint intact. It carries model, optimizer and RNG states,
the step (which is also the data position: batches are a pure function of seed and step) and a
`meta` record of everything that must match for a resume to continue the *same* run.
"""

from __future__ import annotations

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
