"""Physics invariants of every predictor, as functions that return the violations they find.

Each `check_*` takes one random valid configuration (drawn by `configs.py`) and returns a list of
one-line violation descriptions (empty = every invariant holds). The hypothesis tests assert the
lists are empty; `benchmarks/physics_invariants.py` counts them over many configurations.
A configuration the predictor rejects as invalid or not fitting (CoscaleError) is not a violation;
the callers count it separately.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np

from coscale.cost.compute_class import resolve_compute_class
from coscale.cost.roofline import _peak_rate
from coscale.models.params import count_params
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.predict.sweep import predict_inference_sweep
from coscale.specs.hardware import COMPUTE_CLASSES, HardwareSpec, System
from coscale.train.context import TrainingContext
from coscale.train.layout import RECOMPUTE_MODES, TrainLayout
from coscale.train.memory import state_bytes_per_param
from coscale.train.predict import TrainingPrediction, predict_training

REL = 1e-9  # float slack on comparisons of quantities computed along different paths


def _finite_positive(name: str, x: float) -> list[str]:
    return [] if math.isfinite(x) and x > 0 else [f"{name} = {x} is not positive and finite"]


def faster(hw: HardwareSpec, what: str, factor: float = 2.0) -> HardwareSpec:
    """`hw` with more HBM bandwidth ('hbm'), every compute rate ('flops') or every link ('links')."""
    if what == "hbm":
        return hw.with_value("memory.hbm.bandwidth_Bps", hw.memory.hbm.bandwidth_Bps * factor)
    if what == "flops":
        for c in COMPUTE_CLASSES:
            if hw.compute.supports(c):
                hw = hw.with_value(f"compute.{c}", hw.compute.peak(c) * factor)
        return hw
    for path in ("links.scaleup.bandwidth_Bps", "links.scaleout.bandwidth_Bps"):
        hw = hw.with_value(path, hw.get(path) * factor)
    return hw


# ---------------------------------------------------------------- inference

def _op_bounds(label: str, ops, hw: HardwareSpec) -> list[str]:
    out = []
    for c in ops:
        op = c.op
        if op.collective is not None:
            continue
        t = float(c.time_s)
        flops = float(np.max(op.flops))
        if flops > 0:
            floor = flops / _peak_rate(hw, op.compute_class)
            if t < floor * (1 - REL):
                out.append(f"{label} op {op.name}: {t:.3g} s is faster than its FLOPs at peak ({floor:.3g} s)")
        bytes_ = float(np.max(op.total_bytes))
        floor = bytes_ / hw.memory.hbm.bandwidth_Bps
        if bytes_ > 0 and t < floor * (1 - REL):
            out.append(f"{label} op {op.name}: {t:.3g} s is faster than its bytes at HBM bandwidth ({floor:.3g} s)")
        if not (math.isfinite(t) and t >= 0):
            out.append(f"{label} op {op.name}: time {t}")
    return out


def check_inference(s: InferenceScenario) -> list[str]:
    p = predict_inference(s)
    hw = s.system.hardware
    out: list[str] = []
    for name in ("ttft_s", "ttft_single_s", "tpot_s", "throughput_tok_s", "energy_j_per_token"):
        out += _finite_positive(name, getattr(p, name))
    out += _op_bounds("prefill", p.prefill.cost.ops, hw) + _op_bounds("decode", p.decode.cost.ops, hw)
    m = p.memory
    parts = {k: float(v) for k, v in m.as_dict().items() if k != "total"}
    if any(v < 0 or not math.isfinite(v) for v in parts.values()):
        out.append(f"memory part negative or non-finite: {parts}")
    if float(m.total) < sum(parts.values()) * (1 - REL):
        out.append(f"memory total {float(m.total)} < sum of parts {sum(parts.values())}")
    if m.total > hw.memory.hbm.capacity_bytes * (1 + REL):
        out.append(f"accepted batch {p.batch} needs {float(m.total)} B > capacity")
    # every weight is somewhere: per-GPU weights >= bytes of the narrowest format / GPUs of one instance
    inst = max(s.parallel.tp, s.parallel.ep) * s.parallel.pp
    params = count_params(s.model).total
    if m.weights < params * 0.5 / inst * (1 - 1e-6):  # 4-bit is the narrowest weight format (0.5 B/param)
        out.append(f"weights {m.weights:.3g} B < 0.5 B x {params:.3g} params / {inst} GPUs")
    fixed = replace(s, batch=p.batch)
    for what in ("hbm", "flops", "links"):
        q = predict_inference(replace(fixed, system=System(hardware=faster(hw, what), num_gpus=s.system.num_gpus)))
        for name in ("ttft_s", "tpot_s"):
            a, b = getattr(p, name), getattr(q, name)
            if b > a * (1 + REL):
                out.append(f"more {what} made {name} slower: {a:.6g} -> {b:.6g} s")
        if q.throughput_tok_s < p.throughput_tok_s * (1 - REL):
            out.append(f"more {what} lowered throughput: {p.throughput_tok_s:.6g} -> {q.throughput_tok_s:.6g}")
    return out


def check_inference_sweep(s: InferenceScenario, isl: np.ndarray, osl: np.ndarray, batch: np.ndarray) -> list[str]:
    """The array form: feasible elements finite and positive, and equal to the scalar predictor."""
    plan = s.plan()
    sw = predict_inference_sweep(plan, isl, osl, batch)
    out: list[str] = []
    ok = sw.feasible
    for name in ("ttft_s", "tpot_s", "throughput_tok_s", "energy_j_per_token", "memory_per_gpu_bytes"):
        v = np.asarray(getattr(sw, name))[ok]
        if not np.all(np.isfinite(v) & (v > 0)):
            bad = v[~(np.isfinite(v) & (v > 0))][:3]
            out.append(f"sweep {name} has non-positive or non-finite feasible values: {bad}")
        w = np.asarray(getattr(sw, name))[~ok]
        if not np.all(np.isnan(w)):
            out.append(f"sweep {name} reports numbers for infeasible elements")
    cap = s.system.hardware.memory.hbm.capacity_bytes
    if np.any(np.asarray(sw.memory_per_gpu_bytes)[ok] > cap * (1 + REL)):
        out.append("sweep marks feasible a point that exceeds capacity")
    fast = predict_inference_sweep(replace(s, system=System(hardware=faster(s.system.hardware, "hbm"),
                                                             num_gpus=s.system.num_gpus)).plan(), isl, osl, batch)
    both = ok & np.asarray(fast.feasible)
    if np.any(np.asarray(fast.tpot_s)[both] > np.asarray(sw.tpot_s)[both] * (1 + REL)):
        out.append("sweep: more HBM bandwidth made some TPOT slower")
    return out


# ---------------------------------------------------------------- training

def _executed_model(p: TrainingPrediction) -> float:
    """Executed model FLOPs (the convention's count where a predictor has no executed count: the
    benchmark also runs on code from before the two were separated)."""
    return getattr(p, "executed_model_flops_per_step", p.model_flops_per_step)


def _recomputed(p: TrainingPrediction) -> float:
    """Hardware FLOPs beyond the executed model FLOPs (what recomputation re-runs)."""
    return p.hardware_flops_per_step - _executed_model(p)


def _train_values(p: TrainingPrediction) -> list[str]:
    out: list[str] = []
    out += _finite_positive("step_time_s", p.step_time_s)
    for k, v in p.step.as_dict().items():
        vals = v.values() if isinstance(v, dict) else [v]
        if any(not (math.isfinite(x) and x >= 0) for x in vals):
            out.append(f"step term {k} = {v} is negative or non-finite")
    if not p.hfu <= 1.0 + REL:
        out.append(f"HFU {p.hfu:.3f} > 1 ({p.layout.describe()}, seq {p.layout.seq_len})")
    if p.hardware_tflops_per_gpu * 1e12 > p.peak_flops * (1 + REL):
        out.append(f"hardware TFLOP/s {p.hardware_tflops_per_gpu:.1f} above the {p.peak_flops / 1e12:.0f} peak")
    if not p.mfu <= 1.0 + REL:
        out.append(f"MFU {p.mfu:.3f} > 1")
    # MFU <= HFU in one counting basis: the useful FLOPs the GPU executes never exceed all it executes
    # (the published MFU convention counts causal attention in full, so it is not compared with HFU)
    if _executed_model(p) > p.hardware_flops_per_step * (1 + REL):
        out.append("executed model FLOPs above the hardware FLOPs: executed MFU > HFU")
    if p.layout.recompute == "none" and abs(_recomputed(p)) > REL * p.hardware_flops_per_step:
        out.append("no recompute, yet hardware FLOPs exceed the executed model FLOPs")
    if _executed_model(p) > p.model_flops_per_step * (1 + REL):
        out.append("the kernels execute more model FLOPs than the convention counts")
    mem = p.memory.as_dict()
    parts = {k: v for k, v in mem.items() if k != "total"}
    if any(v < 0 or not math.isfinite(v) for v in parts.values()):
        out.append(f"memory part negative or non-finite: {parts}")
    if mem["total"] < sum(parts.values()) * (1 - REL):
        out.append("memory total below the sum of its parts")
    return out


def _state_floor(ctx: TrainingContext, lay: TrainLayout, p: TrainingPrediction) -> list[str]:
    """No GPU holds less than its share: states >= bytes/param x params / (GPUs the states shard over).
    Only without a pipeline: with pp > 1 the reported GPU is the one with the most memory in total,
    which may be a stage with fewer parameters and more activations than the average."""
    if lay.pp > 1:
        return []
    params = count_params(ctx.model).total
    prec = ctx.precision
    out = []
    opt_bpp = prec.master_weight_bytes + prec.adam_state_bytes
    # sharded over every GPU at most (ZeRO >= 1), over the model-parallel GPUs at most otherwise
    opt_shards = lay.gpus if lay.zero >= 1 else lay.tp * lay.pp * max(lay.ep // lay.tp, 1)
    if p.memory.optimizer < opt_bpp * params / opt_shards * (1 - 1e-6):
        out.append(f"optimizer {p.memory.optimizer / 2**30:.2f} GiB < {opt_bpp:g} B x {params:.3g} / {opt_shards}"
                   f" = {opt_bpp * params / opt_shards / 2**30:.2f} GiB ({lay.describe()})")
    total_bpp = state_bytes_per_param(prec, ctx.options.fp32_grad_accum)
    if p.memory.states < total_bpp * params / lay.gpus * (1 - 1e-6):
        out.append(f"states {p.memory.states / 2**30:.2f} GiB < {total_bpp:g} B x params / {lay.gpus} GPUs")
    return out


def _ctx_on(ctx: TrainingContext, hw: HardwareSpec) -> TrainingContext:
    return TrainingContext(model=ctx.model, system=System(hardware=hw, num_gpus=ctx.system.num_gpus),
                           precision=ctx.precision, options=ctx.options)


def check_training(ctx: TrainingContext, lay: TrainLayout) -> list[str]:
    p = predict_training(ctx, lay)
    out = _train_values(p) + _state_floor(ctx, lay, p)
    hw = ctx.system.hardware
    for what in ("hbm", "flops", "links"):
        q = predict_training(_ctx_on(ctx, faster(hw, what)), lay)
        if q.step_time_s > p.step_time_s * (1 + REL):
            out.append(f"more {what} made the step slower: {p.step_time_s:.6g} -> {q.step_time_s:.6g} s "
                       f"({lay.describe()})")
    mems = [predict_training(ctx, replace(lay, zero=z)).memory.total for z in range(4)]
    for z in range(3):
        if mems[z + 1] > mems[z] * (1 + REL):
            out.append(f"ZeRO-{z + 1} needs more memory than ZeRO-{z}: {mems[z]:.4g} -> {mems[z + 1]:.4g} B "
                       f"({lay.describe()})")
    runs = [predict_training(ctx, replace(lay, recompute=r)) for r in RECOMPUTE_MODES]
    for a, b in itertools.pairwise(runs):
        if b.step_time_s < a.step_time_s * (1 - REL):
            out.append(f"more recompute ({b.layout.recompute}) is faster than {a.layout.recompute}")
        if b.memory.total > a.memory.total * (1 + REL):
            out.append(f"more recompute ({b.layout.recompute}) needs more memory than {a.layout.recompute}")
    return out


def check_plan_entry(ctx: TrainingContext, p: TrainingPrediction) -> list[str]:
    """A layout the planner ranks: it fits, and its numbers obey the training invariants."""
    out = _train_values(p) + _state_floor(ctx, p.layout, p)
    if p.memory.total > ctx.system.hardware.memory.hbm.capacity_bytes * (1 + REL):
        out.append(f"planner ranks {p.layout.describe()} that needs more than the GPU's memory")
    return out


def used_class(hw: HardwareSpec, cls: str) -> str:
    return resolve_compute_class(hw, cls).used
