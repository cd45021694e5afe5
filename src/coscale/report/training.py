"""Training predictions and plans: their one JSON-ready dict each, and rich tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coscale.report.bands import band_caption, band_text, bands_dict, error_band
from coscale.train.context import TrainingContext
from coscale.train.planner import Plan
from coscale.train.predict import TrainingPrediction

GIB = 2.0**30


def _layout_dict(p: TrainingPrediction) -> dict[str, Any]:
    lay = p.layout
    return {"gpus": lay.gpus, "tp": lay.tp, "pp": lay.pp, "vp": lay.vp, "dp": lay.dp, "cp": lay.cp, "ep": lay.ep,
            "micro_batch": lay.micro_batch, "global_batch": lay.global_batch, "seq_len": lay.seq_len,
            "num_microbatches": lay.num_microbatches, "recompute": lay.recompute, "zero": lay.zero}


def training_to_dict(p: TrainingPrediction) -> dict[str, Any]:
    return {
        "layout": _layout_dict(p),
        "step_time_s": p.step_time_s,
        "tokens_per_s_per_gpu": p.tokens_per_s_per_gpu,
        "model_tflops_per_gpu": p.model_tflops_per_gpu,
        "hardware_tflops_per_gpu": p.hardware_tflops_per_gpu,
        "mfu": p.mfu,
        "hfu": p.hfu,
        "mfu_peak_tflops": p.peak_flops / 1e12,
        "mfu_peak_class": p.peak_class,
        "memory_per_gpu_bytes": p.memory.total,
        "memory_breakdown_bytes": p.memory.as_dict(),
        "memory_capacity_bytes": p.capacity_bytes,
        "fits": p.fits,
        "time_breakdown_s": p.step.as_dict(),
        "binding": p.binding,
    }


def context_to_dict(ctx: TrainingContext) -> dict[str, Any]:
    o = ctx.options
    return {"model": ctx.model.name, "hardware": ctx.system.hardware.id, "precision": ctx.precision.name,
            "precision_description": ctx.precision.description,
            "options": {"sequence_parallel": o.sequence_parallel, "flash_attention": o.flash_attention,
                        "dropout": o.dropout, "fp32_grad_accum": o.fp32_grad_accum,
                        "tp_comm_overlap": o.tp_comm_overlap, "dp_overlap": o.dp_overlap, "cp_overlap": o.cp_overlap}}


def print_training(ctx: TrainingContext, p: TrainingPrediction, defaults: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{escape(ctx.model.name)}[/] on {p.layout.gpus}x {escape(ctx.system.hardware.name)}, "
                  f"{ctx.precision.name}: {p.layout.describe()}")
    if defaults:
        console.print("defaults used: " + ", ".join(f"{k}={v}" for k, v in defaults.items()))
    t = Table(title="step")
    t.add_column("metric")
    t.add_column("value", justify="right")
    band = _band(ctx, p)
    t.add_row("step time", f"{p.step_time_s:.3f} s{band_text(band, 'step_time_s', '.3f')}")
    t.add_row("tokens/s/GPU", f"{p.tokens_per_s_per_gpu:,.0f}{band_text(band, 'tokens_per_s_per_gpu', ',.0f')}")
    t.add_row("model TFLOP/s/GPU", f"{p.model_tflops_per_gpu:.1f}{band_text(band, 'model_tflops_per_gpu', '.1f')}")
    t.add_row(f"MFU / HFU (vs {p.peak_class.upper()} {p.peak_flops / 1e12:.0f})", f"{p.mfu:.1%} / {p.hfu:.1%}")
    d = p.step.as_dict()
    for k in ("compute", "recompute", "host", "pipeline_bubble", "optimizer"):
        t.add_row(f"  {k.replace('_', ' ')}", f"{d[k]:.3f} s")
    for k, v in d["exposed_comm"].items():
        t.add_row(f"  exposed {k} comm", f"{v:.3f} s")
    console.print(t)
    m = Table(title="memory per GPU")
    m.add_column("part")
    m.add_column("GiB", justify="right")
    for k, v in p.memory.as_dict().items():
        m.add_row(k.replace("_", " "), f"{v / GIB:.2f}")
    console.print(m)
    fit = "[green]fits[/]" if p.fits else "[red]does NOT fit[/]"
    console.print(f"{fit} in {p.capacity_bytes / GIB:.0f} GiB; binding: {p.binding}")
    console.print(band_caption(band))


def predict_train_to_dict(ctx: TrainingContext, p: TrainingPrediction, defaults: dict[str, Any]) -> dict[str, Any]:
    """`predict train --json`: the question (context), the prediction, and which defaults were used."""
    return {"feasible": p.fits, **context_to_dict(ctx), **training_to_dict(p), "error_band_80": _band(ctx, p),
            "defaults": defaults}


def _band(ctx: TrainingContext, p: TrainingPrediction) -> dict[str, Any] | None:
    return bands_dict(error_band(ctx.efficiency.family, "train", ctx.model), {
        "step_time_s": (p.step_time_s, "time"), "tokens_per_s_per_gpu": (p.tokens_per_s_per_gpu, "rate"),
        "model_tflops_per_gpu": (p.model_tflops_per_gpu, "rate"), "mfu": (p.mfu, "rate")})


def plan_to_dict(ctx: TrainingContext, plan: Plan) -> dict[str, Any]:
    return {"feasible": True, **context_to_dict(ctx), "evaluated": plan.evaluated, "fitting": plan.fitting,
            "wall_s": plan.wall_s,
            "configs_per_s": plan.configs_per_s, "why_best": plan.why_best(),
            "ranked": [{**training_to_dict(p), "error_band_80": _band(ctx, p)} for p in plan.ranked]}


def print_plan(ctx: TrainingContext, plan: Plan, console: Console) -> None:
    console.print(f"[bold]{escape(ctx.model.name)}[/] on {ctx.system.num_gpus}x {escape(ctx.system.hardware.name)}, "
                  f"{ctx.precision.name}: {plan.fitting} of {plan.evaluated} layouts fit "
                  f"({plan.configs_per_s:,.0f} layouts/s)")
    t = Table()
    for col in ("#", "layout", "step s", "tok/s/GPU", "MFU", "mem GiB", "binds"):
        t.add_column(col)
    for i, p in enumerate(plan.ranked, 1):
        t.add_row(str(i), p.layout.describe(), f"{p.step_time_s:.3f}", f"{p.tokens_per_s_per_gpu:,.0f}",
                  f"{p.mfu:.1%}", f"{p.memory.total / GIB:.1f}", p.binding)
    console.print(t)
    console.print(plan.why_best())
