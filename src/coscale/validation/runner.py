"""Run the shipped published cases and compare predicted with published values."""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

from coscale.cost.efficiency import EfficiencyModel
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.validation.bands import Residual, leave_one_out, log_speed_ratio, metric_kind, model_kind
from coscale.validation.kernels import KERNEL_PREDICTORS
from coscale.validation.training import model_of, predict_train_case, predict_train_memory_case

VALIDATION_MODEL_PREFIX = "validation:"
MEASUREMENT = "measurement"
FORMULA_REPRODUCTION = "formula reproduction"


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseResult:
    id: str
    category: str
    calibration: bool
    description: str
    source: str
    predicted: float
    published: float
    unit: str
    note: str
    family: str = ""  # efficiency family of the case's chip
    model_kind: str = "kernel"  # dense | moe | hybrid (model cases), kernel (single-kernel cases)
    holdout: bool = False  # never used to set any constant (a stated hold-out)
    metric: str = ""  # what is compared (throughput_tok_s, ttft_s, states_gib, ...); "" when the unit says it
    # what the published figure is: "measurement" (a run was timed), or "formula reproduction" (a paper's
    # closed-form accounting, e.g. its memory formulas; agreement checks our arithmetic, not the hardware)
    evidence: str = MEASUREMENT

    @property
    def error(self) -> float:
        return (self.predicted - self.published) / self.published


def load_cases() -> list[dict[str, Any]]:
    text = resources.files("coscale.validation").joinpath("cases.json").read_text()
    return json.loads(text)["cases"]


def _model(name: str):
    if name.startswith(VALIDATION_MODEL_PREFIX):
        path = resources.files("coscale.validation").joinpath("configs", name[len(VALIDATION_MODEL_PREFIX):] + ".json")
        return load_model(str(path))
    return load_model(name)


def predict_inference_case(check: dict[str, Any], eff: EfficiencyModel) -> float:
    batch = check["batch"]
    scenario = InferenceScenario(
        model=_model(check["model"]),
        system=System(hardware=load_hardware(check["hardware"]), num_gpus=check["gpus"]),
        parallel=Parallelism(gpus=check["gpus"], tp=check.get("tp", 1), pp=check.get("pp", 1), ep=check.get("ep", 1)),
        precision=get_precision(check["precision"], check.get("kv_precision")),
        request=InferenceRequest(input_len=check["input_len"], output_len=check["output_len"]),
        batch=None if batch == "auto" else int(batch),
        max_batch=check["max_batch"],
        efficiency=eff,
        gemm_input_casts=pytorch_backend(check),
    )
    result = predict_inference(scenario)
    return float(getattr(result, check["metric"]))


def pytorch_backend(check: dict[str, Any]) -> bool:
    """trtllm-bench rows ran TensorRT-LLM's PyTorch backend (the perf overview: 'Starting with v0.19,
    testing was performed using the PyTorch backend'), whose quantized linears cast their BF16 inputs
    in kernels of their own (`coscale.workload.quantize`); the other cases ran TensorRT engines
    (MLPerf submissions, the v0.6 tables), which fuse the cast into the kernel before it."""
    return check.get("benchmark") == "trtllm-bench"


def run_case(case: dict[str, Any], eff: EfficiencyModel | None = None, simulate: bool = False) -> CaseResult:
    """Predict one case; `eff` None uses the efficiency family of the case's chip. `simulate` runs
    max-load benchmark rows (`check.benchmark`) the way the benchmark runs them
    (`coscale.validation.maxload`, through the serving simulator) instead of the analytic steady state."""
    check = case["check"]
    family = load_hardware(check["hardware"]).efficiency.family
    note = case.get("note", "")
    if simulate and eff is None and check.get("benchmark") == "trtllm-bench":
        predicted, how = predict_maxload_case(check, load_hardware(check["hardware"]).efficiency)
        note = f"{how}. {note}"
    elif check["kind"] == "inference":
        predicted = predict_inference_case(check, eff or load_hardware(check["hardware"]).efficiency)
    else:
        eff = eff or load_hardware(check["hardware"]).efficiency
        if check["kind"] == "train":
            predicted = predict_train_case(check, eff)
        elif check["kind"] == "train_memory":
            predicted = predict_train_memory_case(check, eff)
        else:
            predicted = KERNEL_PREDICTORS[check["kind"]](check, eff)
    return CaseResult(id=case["id"], category=case["category"], calibration=case["calibration"],
                      description=case["description"], source=case["source"], predicted=predicted,
                      published=float(case["published"]), unit=case["unit"], note=note,
                      family=family, model_kind=_case_model_kind(check), holdout=bool(case.get("holdout", False)),
                      metric=check.get("metric") or check["kind"],
                      evidence=FORMULA_REPRODUCTION if check["kind"] == "train_memory" else MEASUREMENT)


def predict_maxload_case(check: dict[str, Any], eff: EfficiencyModel) -> tuple[float, str]:
    """A `trtllm-bench throughput` row: the simulated benchmark run when the layout has no expert
    parallelism; attention-DP + EP layouts (not simulated yet) take the analytic steady state,
    capped by the host bound of one executor per attention-DP rank."""
    from coscale.validation.maxload import host_bound_tok_s, simulate_trtllm_bench  # the simulator only when asked

    if check.get("ep", 1) <= 1:
        return simulate_trtllm_bench(check)
    analytic = predict_inference_case(check, eff)
    ranks = max(check["gpus"] // max(check.get("tp", 1), 1), 1)
    bound = host_bound_tok_s(ranks)
    return min(analytic, bound), (f"analytic steady state (attention-DP + EP is not simulated yet), host bound "
                                  f"{bound:.3g} tok/s over {ranks} DP ranks")


def _case_model_kind(check: dict[str, Any]) -> str:
    if check["kind"] == "inference":
        return model_kind(_model(check["model"]))
    if check["kind"] in ("train", "train_memory"):
        return model_kind(model_of(check))
    return "kernel"


def residuals(results: list[CaseResult]) -> list[Residual]:
    """ln(predicted / published speed) of every out-of-sample case that measures a speed or a time."""
    out = []
    for r in results:
        kind = metric_kind(r.unit)
        if r.calibration or kind is None:
            continue
        out.append(Residual(id=r.id, family=r.family, phase=r.category, model_kind=r.model_kind,
                            log_ratio=log_speed_ratio(r.predicted, r.published, kind)))
    return out


def _shipped_cases(eff: EfficiencyModel | None, simulate: bool) -> list[CaseResult]:
    return [run_case(case, eff, simulate=simulate) for case in load_cases()]


def _serving_simulations() -> list[CaseResult]:
    """The request-level serving cases: aggregated, KV-tier and disaggregated."""
    from coscale.validation.serving import run_serving_cases
    from coscale.validation.serving_disagg import run_disagg_cases

    return run_serving_cases() + run_disagg_cases()


def run_all(eff: EfficiencyModel | None = None, serving: bool = False, workers: int = 1) -> list[CaseResult]:
    """Every shipped case; each uses its chip's efficiency family unless `eff` overrides them all.
    `serving` adds the request-level serving simulations and runs the max-load benchmark rows through
    the simulator (`coscale.validation.maxload`; slower: about a minute and a half on 2 cores). Without
    it every inference case takes the analytic path of `predict inference`, whose residuals are the ones
    the error bands of `predict` ship with (`residuals.json`). `workers` >= 2 with `serving`: the
    serving simulations run in a second (spawned) process while this one runs the shipped cases; the
    results are the same, in the same order (tested)."""
    if not serving:
        return _shipped_cases(eff, simulate=False)
    if workers < 2:
        return _shipped_cases(eff, simulate=True) + _serving_simulations()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        simulations = pool.submit(_serving_simulations)
        shipped = _shipped_cases(eff, simulate=True)
        return shipped + simulations.result()


def run_validation(eff: EfficiencyModel | None = None, serving: bool = False, workers: int = 1) -> list[CaseResult]:
    """What `coscale validate` prints: the published measurements (`run_all`, with the serving
    simulations and the simulated max-load rows when `serving`: the CLI's default), then the `codesign`
    ratios of validation/codesign.py (published comparisons as ratios of two predictions)."""
    from coscale.validation.codesign import run_codesign  # codesign builds on CaseResult defined here

    return run_all(eff, serving=serving, workers=workers) + run_codesign()


def default_workers() -> int:
    """Processes for a serving validation run: two where the machine has two cores or more."""
    return min(2, os.cpu_count() or 1)


def _by_group(results: list[CaseResult]) -> list[dict[str, Any]]:
    """Out-of-sample error per band cell (chip family x phase x model kind): count, median |error|, median error."""
    cells: dict[tuple[str, str, str], list[float]] = {}
    for r in results:
        cells.setdefault((r.family, r.category, r.model_kind), []).append(r.error)
    return [{"family": f, "phase": p, "model_kind": k, "cases": len(errs),
             "median_abs_error": statistics.median(abs(e) for e in errs), "median_error": statistics.median(errs)}
            for (f, p, k), errs in sorted(cells.items())]


def _bias(rs: list[CaseResult]) -> dict[str, Any]:
    """Signed error of a group: the mean (the bias), the median, and how many cases are over / under."""
    errs = [float(r.error) for r in rs]
    return {"cases": len(errs), "mean_signed_error": statistics.fmean(errs), "median_signed_error":
            statistics.median(errs), "over": sum(1 for e in errs if e > 0), "under": sum(1 for e in errs if e < 0),
            "evidence": sorted({r.evidence for r in rs})}


def bias_by(results: list[CaseResult], metric: bool) -> dict[str, dict[str, Any]]:
    """`_bias` per category (or per "category/metric" when `metric`), in sorted key order."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(f"{r.category}/{r.metric}" if metric and r.metric else r.category, []).append(r)
    return {k: _bias(v) for k, v in sorted(groups.items())}


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    """Median absolute error per category, for all cases and for out-of-sample cases only."""
    def median(rs: list[CaseResult]) -> float | None:
        return statistics.median(abs(r.error) for r in rs) if rs else None

    categories = sorted({r.category for r in results})
    headline = [r for r in results if r.category in ("inference", "kernel")]
    return {
        "median_abs_error_by_category": {c: median([r for r in results if r.category == c]) for c in categories},
        "median_abs_error_out_of_sample_by_category": {
            c: median([r for r in results if r.category == c and not r.calibration]) for c in categories},
        "median_abs_error_inference_and_kernel": median(headline),
        "median_abs_error_inference_and_kernel_out_of_sample": median([r for r in headline if not r.calibration]),
        "median_abs_error_train": median([r for r in results if r.category == "train"]),
        "median_abs_error_holdout_by_category": {
            c: median([r for r in results if r.category == c and r.holdout]) for c in categories},
        "error_band_calibration": leave_one_out(residuals(results)),
        "by_group": _by_group([r for r in results if not r.calibration and r.category != "train_memory"]),
        "cases": len(results),
        # signed error: + = over-predicted; a median |error| alone hides a one-sided bias
        "bias_by_category": bias_by(results, metric=False),
        "bias_by_category_metric": bias_by(results, metric=True),
        "formula_reproductions": sorted(r.id for r in results if r.evidence == FORMULA_REPRODUCTION),
    }
