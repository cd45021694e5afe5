"""`coscale report`: run a scenario and write one self-contained HTML page (plus a short terminal summary)."""

from __future__ import annotations

from pathlib import Path

import typer

from coscale.outfile import check_out_file
from coscale.report.console import make_console, print_json
from coscale.report.html.build import build_report
from coscale.report.html.readings import levers_ranked
from coscale.report.html.scenario import load_scenario
from coscale.report.html.write import write_atomic


def report(
    scenario: str | None = typer.Option(None, help="Scenario TOML (models, hardware, precisions, input_len, "
                                                  "output_len, concurrency, \\[slo], usd_per_gpu_hour, \\[answers]); "
                                                  "default: the shipped Nemotron 3 Nano vs Qwen3-30B-A3B scenario."),
    out: Path = typer.Option(Path("report.html"), help="HTML file to write (atomically)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report's numbers as one JSON object."),
) -> None:
    """Write the co-design report: summary, model anatomy, roofline, memory, Pareto front, hardware and model
    feedback, cost per answer, validation and provenance, on one offline HTML page."""
    from coscale.report.html.page import render_page  # plotly loads only when a page is written

    check_out_file(out)
    data = build_report(load_scenario(scenario))
    write_atomic(out, render_page(data))
    if as_json:
        print_json({**data, "out": str(out)})
        return
    rec = data["recommended"]
    p = rec["prediction"]
    console = make_console()
    console.print(f"[bold]coscale report[/]: {data['title']}")
    console.print(f"recommended: {rec['model']} on {rec['hardware']} in {rec['precision']}, batch {rec['batch']}: "
                  f"{p['throughput_tok_s_per_gpu']:,.0f} tok/s per GPU, TTFT {p['ttft_s']:.3g} s, TPOT "
                  f"{p['tpot_s'] * 1e3:.3g} ms ({'meets' if rec['meets_slo'] else 'misses'} the SLO)")
    for r in levers_ranked(data)[:3]:
        console.print(f"lever: {r['lever']} ({r['kind']}, {r['change']}): {r['gain']:+.1%}")
    console.print(f"wrote {out.resolve()} ({out.stat().st_size / 1e6:.1f} MB)")
