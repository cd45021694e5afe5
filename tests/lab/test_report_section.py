"""The report's reduced-precision section renders a real multi-seed `lab compare` record.

`data/compare_ci_3seeds.json` is the `compare.json` that `coscale lab compare --preset ci --seeds 3
--json` wrote on this project's shared 2-core CPU machine (see the README's lab section)."""

from __future__ import annotations

import json
from pathlib import Path

from coscale.report.html.build import build_report
from coscale.report.html.page import render_page
from coscale.report.html.scenario import parse_scenario
from coscale.report.lab import compare_notes, compare_tables

RESULT = Path(__file__).parent / "data" / "compare_ci_3seeds.json"
BASE = {"models": ["llama-3.1-8b"], "precisions": ["fp8"], "serve": {"enabled": False}}


def test_report_shows_means_intervals_shares_and_predictions(validation_results):
    record = json.loads(RESULT.read_text())
    report = build_report(parse_scenario({**BASE, "lab_result": str(RESULT)}), validation_results)
    lab = report["lab"]
    assert lab["seeds"] == [0, 1, 2]
    for row, r in zip(lab["runs"], record["runs"], strict=True):
        assert row["gap_pct"] == r["gap_pct"]["mean"]
        assert row["train_tail_gap_pct"] == r["tail_gap_pct"]["mean"]
        assert row["gap_ci95"] == f"[{r['gap_pct']['ci95_low']:+.2f}, {r['gap_pct']['ci95_high']:+.2f}]"
        assert row["low_precision_weights"] == r["low_precision_share"]["weights"]
        assert row["predicted_speedup"] == r["predicted"]["speedup_vs_bf16"]
    for row, q in zip(lab["ptq"], record["ptq"], strict=True):
        assert row["gap_pct"] == q["gap_pct"]["mean"] and row["gap_ci95"].startswith("[")
    page = render_page(report)
    assert 'id="reduced-precision"' in page and "gap_ci95" in page and "seeds 0, 1, 2" in page


def test_console_tables_and_trade_off_lines():
    record = json.loads(RESULT.read_text())
    tables = compare_tables(record)
    assert len(tables) == 3  # recipes, PTQ, nvfp4 ablations
    lines = compare_notes(record)
    assert any(line.startswith("nvfp4: ") and "x throughput" in line for line in lines)
    assert any("paired sampling error" in line for line in lines)
