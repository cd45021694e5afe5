"""The `serving` validation category: published serving measurements replayed in `coscale.serve`.

Latency cases run the deployment at the published load and read one metric; capacity cases search
the highest Poisson rate meeting the MLPerf p99 limits and compare its output tokens/s with the
published Server result (the capacity at the SLO knee).
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

from coscale.serve.capacity_search import max_rate
from coscale.serve.metrics import Slo, latency_summaries, request_arrays
from coscale.serve.scenario import Deployment, WorkloadSpec, build, make_workload, run
from coscale.serve.traces import shipped_trace

HARDWARE_PREFIX = "validation:"


def load_serving_cases() -> list[dict[str, Any]]:
    text = resources.files("coscale.validation").joinpath("serving_cases.json").read_text()
    return json.loads(text)["cases"]


def _deployment(spec: dict[str, Any]) -> Deployment:
    d = dict(spec)
    hw = d.get("hardware", "")
    if hw.startswith(HARDWARE_PREFIX):
        d["hardware"] = str(resources.files("coscale.validation").joinpath(
            "serving_hardware", hw[len(HARDWARE_PREFIX):] + ".json"))
    return Deployment(**d)


def _workload(spec: dict[str, Any]) -> WorkloadSpec:
    w = dict(spec)
    if "trace" in w:
        w["trace"] = str(shipped_trace(w["trace"]))
    return WorkloadSpec(**w)


def _get(rep: dict[str, Any], path: str) -> float:
    cur: Any = rep
    for part in path.split("."):
        cur = cur[part]
    return float(cur)


def predict_serving_case(case: dict[str, Any]) -> tuple[float, str]:
    """(predicted value in the case's unit, a note)."""
    d, w = _deployment(case["deployment"]), _workload(case["workload"])
    if case.get("capacity"):
        slo = case["slo"]
        built = build(d)
        best, tried = max_rate(d, w, built, slo["ttft_p99_s"], slo["tpot_p99_s"], start_rps=w.rate or 1.0)
        rep = best.report or {}
        # MLPerf's completed tokens/s at a valid rate = samples/s x tokens per sample in steady state
        reqs = make_workload(w, built.model).requests  # type: ignore[attr-defined]
        per_request = sum(r.output_tokens for r in reqs) / len(reqs)
        note = (f"max rate {best.rate:.3g} req/s (published {w.rate} req/s) x {per_request:.0f} output tokens, "
                f"{len(tried)} runs; TTFT p99 {rep['ttft_s']['p99']:.3g} s, TPOT p99 {rep['tpot_s']['p99']:.3g} s")
        return best.rate * per_request * case["scale"], note
    # a benchmark that warms up first (AIPerf's --warmup-request-count) reports only the requests after
    # its first `warmup_requests`, sent back to back with them: the cold start's queue is not measured
    warmup = int(case.get("warmup_requests", 0))
    if warmup:
        w = replace(w, num_requests=(w.num_requests or 0) + warmup)
    res, rep = run(d, w, Slo(), overload=False)
    if warmup:  # records come in request-id order: the first `warmup` were sent first
        if rep["completed"] != w.num_requests:
            raise ValueError(f"{case.get('id', 'case')}: a warm-up needs every request finished, got "
                             f"{rep['completed']}")
        rep = {**rep, **latency_summaries(request_arrays(res).select(slice(warmup, None)))}
    after = f" after {warmup} warm-up requests" if warmup else ""
    note = (f"{rep['completed'] - warmup} requests{after}, {rep['num_gpu_blocks']} KV blocks, {rep['preemptions']} "
            f"preemptions; TTFT mean {rep['ttft_s']['mean']:.3g} s, TPOT mean {rep['tpot_s']['mean']:.3g} s")
    return _get(rep, case["metric"]) * case["scale"], note


def run_serving_cases(ids: tuple[str, ...] | None = None) -> list:
    """CaseResults of the serving category (all cases, or those named)."""
    from coscale.validation.runner import CaseResult

    out = []
    for case in load_serving_cases():
        if ids is not None and case["id"] not in ids:
            continue
        predicted, note = predict_serving_case(case)
        out.append(CaseResult(id=case["id"], category="serving", calibration=False, description=case["description"],
                              source=case["source"], predicted=predicted, published=float(case["published"]),
                              unit=case["unit"], note=f"{note}. Assumptions: {case['assumptions']}"))
    from coscale.validation.serving_tiers import run_tier_cases
    return out + run_tier_cases(ids)  # KV-offload and prefix-hit cases
