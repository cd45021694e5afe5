"""What a recipe buys at scale: the training planner's step time, throughput and memory per GPU.

The lab measures a recipe's accuracy cost on a small model; the speed and memory it buys are a
property of a large model on real chips, so they come from `coscale.train.predict_training` (the
same code as `coscale predict train`), for the same recipe name. The default target is the
published Llama 3.1 8B pre-training benchmark layout of NVIDIA's dgxc-benchmarking v24.11.1
(NeMo, 8 GPUs: TP1 PP1 CP2 DP4, micro-batch 1, global batch 128 sequences of 8,192 tokens;
validation case T-DG-1, measured there on H100: BF16 12.91 s, FP8 9.67 s per step), evaluated on
`hardware` (default B200, whose tensor cores run every lab format incl. NVFP4). With more GPUs the
data-parallel degree grows and the global batch stays 16 sequences per GPU (the benchmark's
128-GPU row uses 2,048). Lab-only ablations are costed as the recipe they ablate.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.hardware import System
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training

GiB = 2**30


@dataclass(frozen=True, kw_only=True, slots=True)
class TradeoffTarget:
    """Where to cost the recipes: model, chip, GPU count and the layout's fixed degrees."""

    model: str = "llama-3.1-8b"
    hardware: str = "b200"
    gpus: int = 8
    cp: int = 2
    seq_len: int = 8192
    sequences_per_gpu: int = 16  # global batch = 16 x GPUs (128 on 8)
    recompute: str = "selective"
    zero: int = 1

    def __post_init__(self) -> None:
        if self.gpus < self.cp or self.gpus % self.cp:
            raise CoscaleError(f"--gpus {self.gpus} must be a positive multiple of {self.cp} (the layout's CP degree)")

    def layout(self) -> TrainLayout:
        return TrainLayout(gpus=self.gpus, tp=1, pp=1, vp=1, dp=self.gpus // self.cp, cp=self.cp, ep=1, micro_batch=1,
                           global_batch=self.sequences_per_gpu * self.gpus, seq_len=self.seq_len,
                           recompute=self.recompute, zero=self.zero)  # type: ignore[arg-type]

    def describe(self) -> str:
        lay = self.layout()
        return (f"{self.model} on {self.gpus}x {self.hardware}, TP1 PP1 CP{self.cp} DP{lay.dp}, "
                f"global batch {lay.global_batch} x {self.seq_len} tokens, {self.recompute} recompute, "
                f"ZeRO-{self.zero}")


def planner_recipe(name: str) -> str:
    """The training precision a lab recipe is costed as (ablations of nvfp4 cost as nvfp4)."""
    try:
        get_training_precision(name)
        return name
    except CoscaleError:
        base = name.split("-")[0]
        get_training_precision(base)  # raises a one-line error if there is no such base either
        return base


def predict_recipes(target: TradeoffTarget, recipes: list[str], baseline: str = "bf16") -> dict[str, dict]:
    """{recipe: prediction dict}, each with ratios to the baseline recipe's prediction."""
    model = load_model(target.model)
    system = System(hardware=load_hardware(target.hardware), num_gpus=target.gpus)
    options = TrainOptions(sequence_parallel=True, tp_comm_overlap=True, dp_overlap=True, cp_overlap=True)
    layout = target.layout()
    out: dict[str, dict] = {}
    for name in dict.fromkeys([baseline, *recipes]):
        costed = planner_recipe(name)
        ctx = TrainingContext(model=model, system=system, precision=get_training_precision(costed), options=options)
        p = predict_training(ctx, layout)
        out[name] = {
            "costed_as": costed,
            "step_time_s": p.step_time_s,
            "tokens_per_s_per_gpu": p.tokens_per_s_per_gpu,
            "memory_gib_per_gpu": p.memory.total / GiB,
            "capacity_gib": p.capacity_bytes / GiB,
            "fits": p.fits,
            "mfu": p.mfu,
        }
    base = out[baseline]
    for rec in out.values():
        rec["speedup_vs_bf16"] = rec["tokens_per_s_per_gpu"] / base["tokens_per_s_per_gpu"]
        rec["memory_saved_gib"] = base["memory_gib_per_gpu"] - rec["memory_gib_per_gpu"]
    return out
