"""The optional training section: `coscale plan train` (the layout planner) for the scenario's `[train]`
table — the best layouts for a training budget with their step-time breakdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.report.training import plan_to_dict
from coscale.resolve import resolve_model
from coscale.specs.hardware import System
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainOptions
from coscale.train.planner import plan_training
from coscale.train.precision import get_training_precision

TRAIN_KEYS = frozenset({"model", "hardware", "gpus", "seq_len", "global_batch", "precision", "top"})
RUN_TIME_KEYS = ("wall_s", "configs_per_s")  # the planner's own speed, not a result


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainAsk:
    model: str
    hardware: str
    gpus: int
    seq_len: int
    global_batch: int
    precision: str = "bf16"
    top: int = 5


def parse_train(raw: dict[str, Any]) -> TrainAsk:
    for key in ("model", "hardware"):
        if not isinstance(raw.get(key), str):
            raise CoscaleError(f"scenario [train] needs {key} as a string (e.g. {key} = \"...\").")
    for key in ("gpus", "seq_len", "global_batch", "top"):
        v = raw.get(key, 5 if key == "top" else None)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise CoscaleError(f"scenario [train] needs {key} as a positive integer, got {v!r}.")
    precision = raw.get("precision", "bf16")
    if not isinstance(precision, str):
        raise CoscaleError(f"scenario [train] needs precision as a string, got {precision!r}.")
    ask = TrainAsk(model=raw["model"], hardware=raw["hardware"], gpus=raw["gpus"], seq_len=raw["seq_len"],
                   global_batch=raw["global_batch"], precision=precision, top=raw.get("top", 5))
    resolve_model(ask.model)
    load_hardware(ask.hardware)
    get_training_precision(ask.precision)
    return ask


def training_section(ask: TrainAsk) -> dict[str, Any]:
    """What `coscale plan train --json` prints for the same ask (the same context flags as its defaults)."""
    ctx = TrainingContext(model=resolve_model(ask.model),
                          system=System(hardware=load_hardware(ask.hardware), num_gpus=ask.gpus),
                          precision=get_training_precision(ask.precision),
                          options=TrainOptions(sequence_parallel=True, tp_comm_overlap=True, dp_overlap=True,
                                               cp_overlap=True))
    d = plan_to_dict(ctx, plan_training(ctx, ask.seq_len, ask.global_batch, ask.top))
    return {**{k: v for k, v in d.items() if k not in RUN_TIME_KEYS},
            "ask": {"model": ask.model, "hardware": ask.hardware, "gpus": ask.gpus, "seq_len": ask.seq_len,
                    "global_batch": ask.global_batch, "precision": ask.precision, "top": ask.top}}
