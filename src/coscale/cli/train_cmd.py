"""`coscale predict train` and `coscale plan train` (registered by the root app)."""

from __future__ import annotations

import typer

from coscale.calibrate.family_file import load_efficiency_file
from coscale.errors import EXIT_DOES_NOT_FIT, CoscaleError
from coscale.feasibility.scalar import MAX_COUNT
from coscale.hardware.catalog import load_hardware
from coscale.report.console import make_console, print_json
from coscale.report.training import plan_to_dict, predict_train_to_dict, print_plan, print_training
from coscale.resolve import resolve_model
from coscale.specs.hardware import System
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.planner import plan_training
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training

plan_app = typer.Typer(help="Search parallel layouts and rank them.", no_args_is_help=True)

_MODEL = typer.Option(..., help="Preset id, config.json path, a directory holding one, or lab:<preset>.")
_HW = typer.Option(..., help="Catalog id or path to a hardware JSON file.")
_PREC = typer.Option("bf16", help="Training recipe: bf16, fp16, fp8 (= fp8-tensor), fp8-delayed, fp8-block, "
                                  "mxfp8, nvfp4.")


def _context(model: str, hardware: str, gpus: int, precision: str, sequence_parallel: bool,
             overlap: bool, efficiency: str | None = None, moe_host_sync: bool = True) -> TrainingContext:
    if gpus < 1 or gpus > MAX_COUNT:
        raise CoscaleError(f"--gpus must be a positive integer up to {MAX_COUNT:,}, got {gpus}.")
    return TrainingContext(
        model=resolve_model(model), system=System(hardware=load_hardware(hardware), num_gpus=gpus),
        precision=get_training_precision(precision),
        options=TrainOptions(sequence_parallel=sequence_parallel, tp_comm_overlap=overlap, dp_overlap=overlap,
                             cp_overlap=overlap, moe_host_sync=moe_host_sync),
        efficiency=load_efficiency_file(efficiency) if efficiency else None,
    )


def _derive_dp(gpus: int, tp: int, pp: int, cp: int) -> int:
    for name, value in (("tp", tp), ("pp", pp), ("cp", cp)):
        if value < 1:
            raise CoscaleError(f"--{name} must be a positive integer, got {value}.")
    inner = tp * pp * cp
    if inner < 1 or gpus % inner:
        raise CoscaleError(f"--gpus {gpus} is not divisible by tp*pp*cp = {tp}*{pp}*{cp} = {inner}; "
                           f"use a multiple of {inner} GPUs or smaller degrees.")
    return gpus // inner


def predict_train(
    model: str = _MODEL,
    hardware: str = _HW,
    gpus: int = typer.Option(..., help="Total GPUs."),
    tp: int = typer.Option(1, help="Tensor-parallel degree."),
    pp: int = typer.Option(1, help="Pipeline-parallel stages."),
    dp: int | None = typer.Option(None, help="Data-parallel degree (default: gpus / (tp*pp*cp))."),
    cp: int = typer.Option(1, help="Context-parallel degree (ring attention)."),
    ep: int = typer.Option(1, help="Expert-parallel degree (MoE)."),
    vp: int = typer.Option(1, help="Virtual pipeline chunks per stage (interleaved 1F1B)."),
    micro_batch: int = typer.Option(1, help="Sequences per micro-batch."),
    global_batch: int = typer.Option(..., help="Sequences per optimizer step."),
    seq_len: int = typer.Option(..., help="Tokens per sequence."),
    recompute: str = typer.Option("selective", help="Activation recompute: none, selective, full."),
    zero: int = typer.Option(1, help="ZeRO stage: 0, 1 (distributed optimizer), 2, 3 (FSDP)."),
    precision: str = _PREC,
    sequence_parallel: bool = typer.Option(True, help="Sequence parallelism with TP."),
    overlap: bool = typer.Option(True, help="Overlap TP/DP/CP communication with compute."),
    moe_host_sync: bool = typer.Option(True, "--moe-host-sync/--moe-sync-free",
                                       help="MoE layers wait on the host for per-expert token counts (Megatron "
                                            "default) or run sync-free (device-side splits: the host runs ahead)."),
    efficiency: str | None = typer.Option(None, help="Efficiency-family JSON (from `coscale calibrate`) "
                                                     "instead of the chip's shipped family."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Step time, tokens/s/GPU, model TFLOP/s, MFU/HFU and memory per GPU of one training layout."""
    defaults = {} if dp is not None else {"dp": "gpus/(tp*pp*cp)"}
    ctx = _context(model, hardware, gpus, precision, sequence_parallel, overlap, efficiency, moe_host_sync)
    layout = TrainLayout(gpus=gpus, tp=tp, pp=pp, vp=vp, dp=dp if dp is not None else _derive_dp(gpus, tp, pp, cp),
                         cp=cp, ep=ep, micro_batch=micro_batch, global_batch=global_batch, seq_len=seq_len,
                         recompute=recompute, zero=zero)  # type: ignore[arg-type]
    result = predict_training(ctx, layout)
    if as_json:
        print_json(predict_train_to_dict(ctx, result, defaults))
    else:
        print_training(ctx, result, defaults, make_console())
    if not result.fits:  # the breakdown is the answer, but the layout does not fit: exit 3 (README)
        typer.echo(f"does not fit: {layout.describe()} needs {result.memory.total / 2**30:.1f} GiB per GPU of "
                   f"{result.capacity_bytes / 2**30:.1f} GiB; use more GPUs, ZeRO, recompute or a shorter --seq-len.",
                   err=True)
        raise typer.Exit(EXIT_DOES_NOT_FIT)


@plan_app.command("train")
def plan_train(
    model: str = _MODEL,
    hardware: str = _HW,
    gpus: int = typer.Option(..., help="Total GPUs."),
    seq_len: int = typer.Option(..., help="Tokens per sequence."),
    global_batch: int = typer.Option(..., help="Sequences per optimizer step."),
    precision: str = _PREC,
    top: int = typer.Option(5, help="How many layouts to show."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Enumerate (TP, PP, VP, DP, CP, EP, micro-batch, recompute, ZeRO), drop what does not fit, rank by step time."""
    if top < 1:
        raise CoscaleError(f"--top must be a positive integer, got {top}.")
    for name, value in (("seq-len", seq_len), ("global-batch", global_batch)):
        if value < 1:
            raise CoscaleError(f"--{name} must be a positive integer, got {value}.")
    ctx = _context(model, hardware, gpus, precision, True, True)
    plan = plan_training(ctx, seq_len, global_batch, top)
    if as_json:
        print_json(plan_to_dict(ctx, plan))
    else:
        print_plan(ctx, plan, make_console())
