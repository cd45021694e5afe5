"""The serving validation category: cases carry sources, the vLLM 0.19 replay lands within 15 %."""

from __future__ import annotations

import statistics

import pytest

from coscale.validation.runner import summarize
from coscale.validation.serving import load_serving_cases, run_serving_cases


def test_serving_cases_have_sources_and_assumptions():
    cases = load_serving_cases()
    assert len(cases) >= 8
    for c in cases:
        assert c["source"] and c["published"] > 0 and c["unit"] and c["assumptions"]


def test_vllm_trace_replay_ttft_and_tpot_means_within_15_percent():
    results = run_serving_cases(("LSS-PRO6000-Q32-ttft", "LSS-PRO6000-Q32-tpot"))
    assert len(results) == 2
    for r in results:
        assert abs(r.error) <= 0.15, (r.id, r.predicted, r.published)


@pytest.mark.slow
def test_serving_median_error_within_15_percent():
    results = run_serving_cases()
    summary = summarize(results)
    assert summary["median_abs_error_by_category"]["serving"] <= 0.15
    assert statistics.median(abs(r.error) for r in results) == summary["median_abs_error_by_category"]["serving"]


@pytest.mark.slow
def test_validate_cli_includes_the_serving_category_as_strict_json():
    import json

    from typer.testing import CliRunner

    from coscale.cli.app import app
    result = CliRunner().invoke(app, ["validate", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data["summary"]["median_abs_error_by_category"]["serving"] <= 0.15
    assert sum(1 for c in data["cases"] if c.get("category") == "serving") >= 8


def test_a_warmed_up_case_measures_only_the_requests_after_its_warm_up():
    """AIPerf-style warm-up: the first requests are sent and not measured; the cold start's queue (all
    clients' prompts at once) stays out of the mean, and the measured count is the case's own."""
    import numpy as np

    from coscale.serve.metrics import Slo, request_arrays
    from coscale.serve.scenario import Deployment, WorkloadSpec, run
    from coscale.validation.serving import predict_serving_case

    case = {"metric": "ttft_s.mean", "scale": 1.0, "warmup_requests": 8,
            "deployment": {"model": "llama-3.1-8b", "engine": "trtllm"},
            "workload": {"concurrency": 8, "input_len": 3000, "output_len": 40, "num_requests": 24}}
    warm, note = predict_serving_case(case)
    assert note.startswith("24 requests after 8 warm-up requests")
    res, _ = run(Deployment(model="llama-3.1-8b", engine="trtllm"),
                 WorkloadSpec(concurrency=8, input_len=3000, output_len=40, num_requests=32), Slo(), overload=False)
    ttft = request_arrays(res).ttft
    assert warm == pytest.approx(float(np.mean(ttft[8:])), rel=1e-12)
    assert warm < float(np.mean(ttft[:8]))  # the cold start queued 8 prompts behind one another
    cold, _ = predict_serving_case({**case, "warmup_requests": 0})
    assert cold > warm
