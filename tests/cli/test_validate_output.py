"""`coscale validate`: the signed bias and over/under counts per category, and the training-memory
cases labelled as formula reproductions; the older `--json` fields stay."""

from __future__ import annotations

import json
import statistics

import pytest
from tests.cli.entry import coscale

from coscale.validation.runner import FORMULA_REPRODUCTION, MEASUREMENT, CaseResult, bias_by


def _case(cid: str, category: str, predicted: float, published: float, metric: str = "m",
          evidence: str = MEASUREMENT) -> CaseResult:
    return CaseResult(id=cid, category=category, calibration=False, description="", source="", predicted=predicted,
                      published=published, unit="s", note="", metric=metric, evidence=evidence)


def test_bias_is_the_mean_signed_error_with_over_and_under_counts() -> None:
    rs = [_case("a", "x", 12, 10), _case("b", "x", 15, 10), _case("c", "x", 9, 10), _case("d", "y", 10, 10)]
    b = bias_by(rs, metric=False)
    assert b["x"]["cases"] == 3 and b["x"]["over"] == 2 and b["x"]["under"] == 1
    assert b["x"]["mean_signed_error"] == pytest.approx((0.2 + 0.5 - 0.1) / 3)
    assert b["x"]["median_signed_error"] == pytest.approx(0.2)
    assert b["y"] == {"cases": 1, "mean_signed_error": 0.0, "median_signed_error": 0.0, "over": 0, "under": 0,
                      "evidence": [MEASUREMENT]}
    by_metric = bias_by([*rs, _case("e", "x", 5, 10, metric="n")], metric=True)
    assert set(by_metric) == {"x/m", "x/n", "y/m"} and by_metric["x/n"]["under"] == 1


@pytest.fixture(scope="module")
def validated() -> dict:
    r = coscale("validate", "--no-serving", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_json_keeps_the_old_fields_and_adds_the_bias(validated: dict) -> None:
    s = validated["summary"]
    for key in ("median_abs_error_by_category", "median_abs_error_out_of_sample_by_category",
                "median_abs_error_inference_and_kernel", "error_band_calibration", "by_group", "cases"):
        assert key in s
    for c in validated["cases"]:
        for key in ("id", "category", "calibration", "predicted", "published", "unit", "error", "source"):
            assert key in c
    cases = validated["cases"]
    for cat, b in s["bias_by_category"].items():
        errs = [c["error"] for c in cases if c["category"] == cat]
        assert b["cases"] == len(errs)
        assert b["over"] == sum(e > 0 for e in errs) and b["under"] == sum(e < 0 for e in errs)
        assert b["mean_signed_error"] == pytest.approx(statistics.fmean(errs))
    assert sum(b["cases"] for b in s["bias_by_category_metric"].values()) == len(cases)


def test_training_memory_cases_are_formula_reproductions(validated: dict) -> None:
    memory = [c for c in validated["cases"] if c["category"] == "train_memory"]
    assert len(memory) >= 12
    assert all(c["evidence"] == FORMULA_REPRODUCTION for c in memory)
    assert all(c["evidence"] == MEASUREMENT for c in validated["cases"] if c["category"] != "train_memory")
    assert validated["summary"]["formula_reproductions"] == sorted(c["id"] for c in memory)
    assert validated["summary"]["bias_by_category"]["train_memory"]["evidence"] == [FORMULA_REPRODUCTION]


def test_text_output_prints_the_bias_and_the_label() -> None:
    r = coscale("validate", "--no-serving", timeout=300)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "signed error by category / metric" in text and "bias (mean)" in text
    assert "formula reproductions (not measurements)" in text and "(formula)" in text
