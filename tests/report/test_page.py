"""The page itself: self-contained (no external URL in any src/href/import, one inlined plotly), under
10 MB, every section with a reading and a CSV of its numbers, and readings that quote the report's numbers."""

from __future__ import annotations

import re
from pathlib import Path

from coscale.report.html.readings import levers_ranked

SECTIONS = ("summary", "anatomy", "roofline", "memory", "serving", "disaggregated", "pareto",
            "hardware-feedback", "model-feedback", "answers",
            "validation", "provenance")


def test_page_is_self_contained(default_page: Path):
    text = default_page.read_text(encoding="utf-8")
    assert default_page.stat().st_size < 10e6
    head = text[:text.index("</head>")]
    assert head.count("<script>") == 1 and len(head) > 1e6  # plotly.js inlined once (checked in the browser test)
    ours = re.sub(r"<script>.*?</script>", "", text, count=1, flags=re.S)
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', ours)
    assert not re.search(r"@import|@font-face|<link\b|<iframe|<img", ours)
    assert "Plotly.newPlot" in text


def test_every_section_has_a_reading_and_csv(default_page: Path):
    text = default_page.read_text(encoding="utf-8")
    for sid in SECTIONS:
        m = re.search(rf'<section id="{sid}">(.*?)</section>', text, re.S)
        assert m, sid
        assert '<p class="reading">' in m.group(1) and 'href="data:text/csv' in m.group(1), sid


def test_summary_quotes_the_recommended_numbers(default_report, default_page: Path):
    text = default_page.read_text(encoding="utf-8")
    rec = default_report["recommended"]
    assert f"{rec['prediction']['throughput_tok_s_per_gpu']:,.0f} tok/s" in text
    top = levers_ranked(default_report)[:3]
    assert [r["gain"] for r in top] == sorted((r["gain"] for r in levers_ranked(default_report)), reverse=True)[:3]
    for r in top:
        assert r["lever"] in text


def test_recommendation_is_best_on_the_front_meeting_the_slo(default_report):
    rec = default_report["recommended"]
    slo = default_report["scenario"]["slo"]
    meeting = [p for p in default_report["pareto"] if p["ttft_s"] <= slo["ttft_s"] and p["tpot_s"] <= slo["tpot_s"]]
    assert rec["meets_slo"] and meeting
    best = max(meeting, key=lambda p: p["throughput_tok_s_per_gpu"])
    assert (best["model"], best["hardware"], best["precision"], best["batch"]) == (
        rec["model"], rec["hardware"], rec["precision"], rec["batch"])
    assert best["pareto"]
    assert rec["prediction"]["throughput_tok_s_per_gpu"] == best["throughput_tok_s_per_gpu"]


def test_provenance_covers_every_chip_and_kind(default_report):
    rows = default_report["provenance"]
    assert {r["hardware"] for r in rows} >= set(default_report["scenario"]["hardware"])
    assert {r["kind"] for r in rows} == {"published", "calibrated", "assumed"}
    assert all(r["source"].strip() for r in rows)


def test_serving_knee_is_within_the_curve(default_report):
    s = default_report["serving"]
    rates = [p["rate_rps"] for p in s["points"]]
    assert rates == sorted(rates) and not any(p["overloaded"] for p in s["points"])
    assert s["knee"] is not None and 0 < s["knee"]["rate_rps"] <= s["saturated_rate_rps"]
    p99 = [p["ttft_s"]["p99"] for p in s["points"]]
    assert p99[-1] >= p99[0]  # queueing grows with load
