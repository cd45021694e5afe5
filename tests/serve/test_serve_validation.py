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
