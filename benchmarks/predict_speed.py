"""Prediction speed of the array path: configurations per second with full `predict inference`
semantics (memory fit, --batch auto, the bound of each phase), step evaluations per second, and the
ratio to llm-analysis measured in the same run on the configurations both tools express.

Goals: configs_per_s >= 100,000 on one core; ratio_vs_llm_analysis >= 40. llm-analysis is an
optional comparison: install it with `pip install --no-deps llm-analysis==0.2.2 fire` (its declared
dependencies pin an old transformers/tokenizers that would replace the lab's); without it the
ratio is null. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import time

import numpy as np

from coscale.cost.plan import build_plan
from coscale.cost.step import step_cost
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.sweep import predict_inference_sweep
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.workload.shape import StepShape

GPUS = 8


def sweep(model: str, hardwares: list[str], precisions: list[str], tps: list[int], batches: list[int | None],
          isl: np.ndarray, osl: np.ndarray) -> tuple[int, float, int]:
    """(configurations, wall seconds, feasible) of the full cross product through the array path."""
    spec = load_model(model)
    fixed = np.array([b for b in batches if b is not None], dtype=float)
    grid_b, grid_isl, grid_osl = (a.ravel() for a in np.meshgrid(fixed, isl, osl, indexing="ij"))
    auto_isl, auto_osl = (a.ravel() for a in np.meshgrid(isl, osl, indexing="ij"))
    count = feasible = 0
    start = time.perf_counter()
    for hw, prec, tp in itertools.product(hardwares, precisions, tps):
        plan = build_plan(spec, System(hardware=load_hardware(hw), num_gpus=GPUS), Parallelism(gpus=GPUS, tp=tp),
                          get_precision(prec))
        results = [predict_inference_sweep(plan, grid_isl, grid_osl, grid_b)] if fixed.size else []
        if None in batches:  # --batch auto
            results.append(predict_inference_sweep(plan, auto_isl, auto_osl))
        count += sum(len(r) for r in results)
        feasible += sum(int(r.feasible.sum()) for r in results)
    return count, time.perf_counter() - start, feasible


def step_rate(n: int) -> float:
    plan = build_plan(load_model("llama-3.1-8b"), System(hardware=load_hardware("h100-sxm"), num_gpus=1),
                      Parallelism(), get_precision("fp8"))
    rng = np.random.default_rng(0)
    shape = StepShape.uniform(decode_seqs=rng.integers(0, 256, n), decode_context=rng.integers(0, 32000, n),
                              prefill_seqs=rng.integers(0, 4, n), prefill_new=rng.integers(1, 2048, n),
                              prefill_prefix=rng.integers(0, 8000, n))
    start = time.perf_counter()
    float(np.sum(step_cost(plan, shape).time_s))
    return n / (time.perf_counter() - start)


# the comparison set: Llama-2-70B in both tools' catalogs, formats both express
_LLA = {"model": ("llama-2-70b", "upstage_Llama-2-70b-instruct-v2"),
        "hardware": {"h100-sxm": "h100-sxm-80gb", "a100-sxm-80gb": "a100-sxm-80gb"},
        "precision": {"bf16": "w16a16e16", "int8": "w8a8e16", "int4-weight-only": "w4a16e16"}}


def llm_analysis_rate(tps: list[int], batches: list[int], isl: np.ndarray, osl: np.ndarray) -> float | None:
    try:
        from llm_analysis.analysis import LLMAnalysis
        from llm_analysis.config import (
            ParallelismConfig,
            get_dtype_config_by_name,
            get_gpu_config_by_name,
            get_model_config_by_name,
        )
    except ImportError:
        return None
    logging.disable(logging.CRITICAL)  # llm-analysis logs every configuration
    model = get_model_config_by_name(_LLA["model"][1])
    count, start = 0, time.perf_counter()
    for hw, prec, tp in itertools.product(_LLA["hardware"].values(), _LLA["precision"].values(), tps):
        analysis = LLMAnalysis(model, get_gpu_config_by_name(hw), get_dtype_config_by_name(prec),
                               parallelism_config=ParallelismConfig(tp_size=tp))
        for b, i, o in itertools.product(batches, isl, osl):
            analysis.inference(batch_size_per_gpu=int(b), seq_len=int(i), num_tokens_to_generate=int(o))
            count += 1
    logging.disable(logging.NOTSET)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sweep (CI smoke run)")
    args = parser.parse_args()
    n = 16 if args.quick else 64
    isl = np.unique(np.geomspace(64, 32768, n).round())
    osl = np.unique(np.geomspace(16, 8192, n).round())
    batches: list[int | None] = [None, 1, 4, 16, 64, 256]
    total, wall, feasible = sweep("llama-3.1-70b", ["h100-sxm", "h200-sxm", "b200"],
                                  ["bf16", "fp8", "nvfp4", "int4-weight-only"], [2, 4, 8], batches, isl, osl)
    steps_per_s = step_rate(200_000 if args.quick else 1_000_000)
    # the common set, through both tools
    # Llama-2's 4,096-token context bounds input + output in both tools
    c_isl, c_osl = np.unique(np.geomspace(64, 2048, n // 3).round()), np.unique(np.geomspace(16, 2048, n // 3).round())
    c_batches, c_tps = [1, 2, 4, 8, 16, 32, 64, 128], [4, 8]
    common, common_wall, _ = sweep(_LLA["model"][0], list(_LLA["hardware"]), list(_LLA["precision"]), c_tps,
                                   list(c_batches), c_isl, c_osl)
    ours = common / common_wall
    theirs = llm_analysis_rate(c_tps, c_batches, c_isl, c_osl)
    print(f"array path: {total:,} configurations in {wall:.2f} s ({feasible:,} feasible); "
          f"{total / wall:,.0f} configs/s; {steps_per_s:,.0f} step evaluations/s")
    print(f"common set ({common:,} configurations): coscale {ours:,.0f}/s, llm-analysis "
          + (f"{theirs:,.0f}/s" if theirs else "not installed"))
    print(json.dumps({"configs_per_s": round(total / wall), "configs": total, "wall_s": round(wall, 3),
                      "step_evals_per_s": round(steps_per_s), "common_configs": common,
                      "coscale_common_configs_per_s": round(ours),
                      "llm_analysis_configs_per_s": round(theirs) if theirs else None,
                      "ratio_vs_llm_analysis": round(ours / theirs, 1) if theirs else None,
                      "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
