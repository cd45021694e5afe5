"""The `codesign` validation category: published co-design comparisons as ratios of two predictions.

Each case in `codesign_cases.json` describes two sides (a model on a chip, a precision, a layout, a
request) and a metric; the predicted ratio is metric(a) / metric(b), compared with the published
ratio. Sides may change the chip (`hardware_scale`: multiply fields, `compute.*` = every tensor peak
and the unit count; `hardware_set`: set fields; `hardware_copy`: take a field from another catalog
chip) or the model (`model_change`). Every metric is an existing coscale prediction: the inference
sweep, the phase step costs, the serving-memory model, the KV-cache formula, the weight bytes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import numpy as np

from coscale.cost.inference_memory import weight_bytes_per_gpu
from coscale.cost.plan import ExecutionPlan, build_plan
from coscale.cost.step import step_cost
from coscale.explore.objectives import objective_values
from coscale.hardware.catalog import load_hardware
from coscale.models.cache import kv_cache_bytes_per_token
from coscale.models.registry import load_model
from coscale.predict.phases import inference_phases
from coscale.predict.sweep import predict_inference_sweep
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import COMPUTE_CLASSES, HardwareSpec, System
from coscale.specs.model import AttentionSpec, ModelSpec
from coscale.specs.precision import get_precision
from coscale.validation.runner import CaseResult
from coscale.workload.shape import StepShape

CATEGORY = "codesign"
KV_BYTES_BF16 = 2.0
CONTEXT_CAP = 1e8


def load_codesign() -> dict[str, Any]:
    return json.loads(resources.files("coscale.validation").joinpath("codesign_cases.json").read_text())


def side_hardware(side: dict[str, Any]) -> HardwareSpec:
    hw = load_hardware(side.get("hardware", "h100-sxm"))
    for path, factor in side.get("hardware_scale", {}).items():
        every = [f"compute.{c}" for c in COMPUTE_CLASSES] + ["compute.compute_units"]
        paths = every if path == "compute.*" else [path]
        for p in paths:
            value = hw.get(p) * factor
            hw = hw.with_value(p, round(value) if p.endswith(("compute_units", "domain_size")) else value)
    for path, value in side.get("hardware_set", {}).items():
        hw = hw.with_value(path, value)
    for path, chip in side.get("hardware_copy", {}).items():
        hw = hw.with_value(path, load_hardware(chip).get(path))
    return hw


def side_model(side: dict[str, Any]) -> ModelSpec:
    m = load_model(side["model"])
    change = side.get("model_change", {})
    if "num_kv_heads" in change:
        n = change["num_kv_heads"]
        m = replace(m, layers=tuple(replace(la, mixer=replace(la.mixer, num_kv_heads=n))
                                    if isinstance(la.mixer, AttentionSpec) else la for la in m.layers))
    if change.get("all_layers_attention"):
        attn = next(la.mixer for la in m.layers if isinstance(la.mixer, AttentionSpec))
        m = replace(m, layers=tuple(replace(la, mixer=attn) for la in m.layers))
    return m


def side_plan(side: dict[str, Any]) -> ExecutionPlan:
    tp, ep, pp = side.get("tp", 1), side.get("ep", 1), side.get("pp", 1)
    gpus = side.get("gpus", max(tp, ep) * pp)
    return build_plan(side_model(side), System(hardware=side_hardware(side), num_gpus=gpus),
                      Parallelism(gpus=gpus, tp=tp, pp=pp, ep=ep),
                      get_precision(side.get("precision", "bf16"), side.get("kv_precision")))


def _sweep_metric(side: dict[str, Any], name: str) -> float:
    plan = side_plan(side)
    batch = None if side.get("batch", "auto") == "auto" else float(side["batch"])
    sweep = predict_inference_sweep(plan, side["input_len"], side["output_len"], batch, side.get("max_batch", 256))
    if not sweep.feasible.all():
        raise ValueError(f"side {side} is infeasible in coscale ({sweep.columns()['reason']})")
    return float(objective_values(sweep, name)) if name != "ttft_single_s" else float(sweep.ttft_single_s)


def max_context(side: dict[str, Any]) -> float:
    """Longest single sequence whose serving memory fits one instance (batch 1), in tokens."""
    plan = side_plan(side)
    cap = plan.system.hardware.memory.hbm.capacity_bytes

    def fits(n: float) -> bool:
        return float(plan.memory.memory(1, n, min(n, 8192)).total) <= cap
    lo, hi = 1.0, CONTEXT_CAP
    if fits(hi):
        return hi
    while hi - lo > 1:
        mid = np.floor((lo + hi) / 2)
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def metric(side: dict[str, Any], name: str, case: dict[str, Any]) -> float:
    if "constant" in side:
        return float(side["constant"])
    if name == "kv_bytes_per_token":
        return kv_cache_bytes_per_token(side_model(side), KV_BYTES_BF16)
    if name == "prefill_flops_per_token":  # one sequence of `context` tokens through the whole model
        plan = side_plan(side)
        step = step_cost(plan, StepShape.uniform(prefill_seqs=1, prefill_new=case["context"]))
        return float(step.cost.flops) * plan.parallel.instance_gpus / case["context"]
    if name == "weight_bytes":
        return weight_bytes_per_gpu(side_model(side), Parallelism(),
                                    get_precision(side.get("precision", "bf16")))
    if name == "max_context_tokens":
        return max_context(side)
    if name == "e2e_latency_s":  # prefill + every decode step; the memory fit is not checked (as the source)
        plan = side_plan(side)
        ph = inference_phases(plan, float(side["batch"]), side["input_len"], side["output_len"])
        return float(ph.ttft_s + (side["output_len"] - 1) * ph.tpot_s)
    return _sweep_metric(side, name)


def run_codesign_case(case: dict[str, Any]) -> CaseResult:
    predicted = metric(case["a"], case["metric"], case) / metric(case["b"], case["metric"], case)
    note = f"trust {case['trust']}"
    if case.get("assumed"):
        note += f"; assumed: {case['assumed']}"
    if case.get("published_text"):
        note += f"; published: {case['published_text']}"
    if case.get("why_it_may_differ"):
        note += f"; why it may differ: {case['why_it_may_differ']}"
    return CaseResult(id=case["id"], category=CATEGORY, calibration=False, description=case["description"],
                      source=case["source"], predicted=predicted, published=float(case["published"]),
                      unit="ratio", note=note)


def run_codesign() -> list[CaseResult]:
    return [run_codesign_case(c) for c in load_codesign()["cases"]]
