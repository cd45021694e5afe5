"""The optional reduced-precision section shows a real `coscale lab compare` result as the lab wrote it.

`data/lab_compare_ci.json` is the `compare.json` that `coscale lab compare --preset ci --seed 0` wrote on
this project's CPU machine (60 steps, 10 recipes, 6 PTQ variants), shipped so the test needs no training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coscale.errors import CoscaleError
from coscale.report.html.build import build_report
from coscale.report.html.page import render_page
from coscale.report.html.scenario import parse_scenario
from coscale.report.plots import moving_average

RESULT = Path(__file__).parent / "data" / "lab_compare_ci.json"
BASE = {"models": ["llama-3.1-8b"], "precisions": ["fp8"], "serve": {"enabled": False}}


def test_lab_section_copies_the_compare_record_and_renders(validation_results):
    record = json.loads(RESULT.read_text())
    d = build_report(parse_scenario({**BASE, "lab_result": str(RESULT)}), validation_results)
    lab = d["lab"]
    assert [r["recipe"] for r in lab["runs"]] == [r["recipe"] for r in record["runs"]]
    for ours, theirs in zip(lab["runs"], record["runs"], strict=True):
        assert ours["gap_pct"] == theirs.get("gap_pct")
        assert ours["train_tail_gap_pct"] == theirs.get("train_tail_gap_pct")
    assert lab["ptq"] == [{k: q[k] for k in ("scheme", "method", "weight", "activation", "val_loss", "gap_pct")}
                          for q in record["ptq"]]
    bf16 = next(r for r in record["runs"] if r["recipe"] == "bf16")
    curve = next(c for c in lab["curves"] if c["recipe"] == "bf16")
    assert curve["train_loss"] == moving_average(bf16["train_loss"], max(1, record["steps"] // 50))
    page = render_page(d)
    assert 'id="reduced-precision"' in page and "lab_ptq.csv" in page and "lab_recipes.csv" in page
    assert "the largest train-tail gap to BF16" in page


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    ('{"runs": [], "ptq": []}', "lacks 'preset'"),
    ('{"preset": "ci", "steps": 1, "seed": 0, "loss_unit": "nats", "runs": [{"recipe": "bf16", "diverged": false}],'
     ' "ptq": []}', r"runs\[0\] lacks val_loss"),
])
def test_bad_lab_result_is_one_line(tmp_path, content, message):
    path = tmp_path / "compare.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CoscaleError, match=message) as info:
        parse_scenario({**BASE, "lab_result": str(path)})
    assert "\n" not in str(info.value) and "coscale lab compare" in str(info.value)
