"""`coscale validate` meets the issue's accuracy target, and every case carries its source."""

from __future__ import annotations

from coscale.validation.runner import load_cases, run_all, summarize


def test_every_case_has_source_and_published_value():
    for case in load_cases():
        assert case["source"] and case["published"] > 0 and case["unit"]


def test_median_error_over_inference_and_kernel_cases_within_15_percent():
    results = run_all()
    summary = summarize(results)
    assert summary["median_abs_error_inference_and_kernel"] <= 0.15
    assert summary["median_abs_error_inference_and_kernel_out_of_sample"] <= 0.15
    assert all(abs(r.error) < 0.6 for r in results), [(r.id, r.error) for r in results if abs(r.error) >= 0.6]
