"""The report as one self-contained HTML page: plotly's JavaScript inlined once, every chart with a
one-sentence reading and a CSV download (a data: URI), the report dict embedded as JSON, system fonts
only — the page makes no network request."""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any
from urllib.parse import quote

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from coscale.report.console import json_safe
from coscale.report.html import figures as f
from coscale.report.html.lab import LAB_RUN_COLUMNS, lab_reading
from coscale.report.html.readings import (
    anatomy_rows,
    disagg_reading,
    levers_ranked,
    memory_reading,
    pareto_reading,
    roofline_reading,
    serving_reading,
    summary_reading,
    validation_reading,
)

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:16px 20px;margin:18px 0}
h1{font-size:26px;margin:8px 0}h2{font-size:20px;margin:4px 0 8px}
p.reading{font-size:15px;background:#f0f5fb;border-left:4px solid #4C78A8;padding:8px 12px}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border-bottom:1px solid #eee;padding:4px 6px;
text-align:left}th{background:#f5f5f5}a.csv{font-size:13px}.kpi{display:inline-block;margin:6px 18px 6px 0}
.kpi b{display:block;font-size:22px}nav a{margin-right:12px;font-size:13px}.small{font-size:12px;color:#555}
"""


def csv_link(rows: list[dict[str, Any]], name: str) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    href = "data:text/csv;charset=utf-8," + quote(buf.getvalue())
    return f'<a class="csv" download="{html.escape(name)}.csv" href="{href}">download the numbers (CSV)</a>'


def chart(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def table(rows: list[dict[str, Any]], cols: list[str] | None = None, fmt: str = ".4g") -> str:
    if not rows:
        return "<p>none</p>"
    cols = cols or list(rows[0])

    def cell(v: Any) -> str:
        return html.escape(format(v, fmt) if isinstance(v, float) else str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def section(sid: str, title: str, reading: str, body: str) -> str:
    return (f'<section id="{sid}"><h2>{html.escape(title)}</h2><p class="reading">{html.escape(reading)}</p>'
            f"{body}</section>")


def _sections(d: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rec = d["recommended"]
    pred = rec["prediction"]
    fb = d["feedback"]
    levers = levers_ranked(d)
    config_rows = [{"model": c["model"], "hardware": c["hardware"], "precision": c["precision"], "fits": c["fits"],
                    **({k: c["prediction"][k] for k in ("batch", "ttft_s", "tpot_s", "throughput_tok_s_per_gpu",
                                                         "memory_per_gpu_bytes", "energy_j_per_token")}
                       if c["fits"] else {"reason": c["reason"]})} for c in d["configs"]]
    kpis = "".join(f'<span class="kpi">{html.escape(k)}<b>{html.escape(v)}</b></span>' for k, v in (
        ("deployment", f"{rec['model']} on {rec['hardware']}, {rec['precision']}"), ("batch", str(rec["batch"])),
        ("throughput per GPU", f"{pred['throughput_tok_s_per_gpu']:,.0f} tok/s"),
        ("TTFT", f"{pred['ttft_s']:.3g} s"), ("TPOT", f"{pred['tpot_s'] * 1e3:.3g} ms")))
    out = [("summary", "Summary: the recommended deployment and the biggest levers", summary_reading(d, levers),
            kpis + table(levers[:3], ["lever", "kind", "change", "gain"], "+.1%")
            + chart(f.summary_figure(d), "c-summary")
            + csv_link(config_rows, "configurations"))]
    anat = anatomy_rows(d)
    out.append(("anatomy", "Model anatomy",
                "; ".join(f"{m['model']}: {m['num_layers']} layers "
                          f"({', '.join(f'{v} {k}' for k, v in m['layers'].items())}), "
                          f"{m['params_total'] / 1e9:.1f} B parameters of which {m['params_active'] / 1e9:.2f} B active"
                          for m in d["models"]) + ".",
                table(anat) + chart(f.anatomy_figure(d), "c-anatomy") + csv_link(anat, "model_anatomy")))
    ops = [{"phase": ph, **o} for ph in ("prefill", "decode") for o in pred[ph]["operators"]]
    op_rows = f.op_time_rows(pred)
    out.append(("roofline", f"Roofline of {d['roofline_chip']['name']} and where the time goes",
                roofline_reading(d, op_rows),
                chart(f.roofline_figure(d, d["roofline_chip"]), "c-roofline") + csv_link(ops, "operators")
                + chart(f.op_time_figure(d), "c-optime") + csv_link(op_rows, "operator_time")))
    mem = d["memory"]
    by_b = [dict(zip(mem["by_batch"], vals, strict=True)) for vals in zip(*mem["by_batch"].values(), strict=True)]
    by_c = [dict(zip(mem["by_context"], vals, strict=True)) for vals in zip(*mem["by_context"].values(), strict=True)]
    out.append(("memory", "Memory per GPU", memory_reading(d),
                chart(f.memory_figure(d, "batch"), "c-mem-batch") + csv_link(by_b, "memory_by_batch")
                + chart(f.memory_figure(d, "context"), "c-mem-context") + csv_link(by_c, "memory_by_context")))
    if d.get("serving"):
        out.append(("serving", "Serving: latency against load", serving_reading(d["serving"]),
                    chart(f.serving_figure(d, "ttft_s"), "c-serve-ttft") + chart(f.serving_figure(d, "tpot_s"),
                                                                                 "c-serve-tpot")
                    + csv_link([f.flatten(p) for p in d["serving"]["points"]], "serving_curve")))
    if d.get("disaggregated"):
        out.append(("disaggregated", "Disaggregated prefill/decode: which chip for each phase",
                    disagg_reading(d["disaggregated"]), _disagg_body(d["disaggregated"], d.get("serving"))))
    if d.get("training"):
        t = d["training"]
        best = t["ranked"][0] if t["ranked"] else None
        reading = (f"Of {t['evaluated']:,} layouts for {t['ask']['model']} on {t['ask']['gpus']} x {t['hardware']} "
                   f"({t['fitting']:,} fit), the fastest step is {best['step_time_s']:.3g} s at MFU {best['mfu']:.1%}: "
                   f"{t['why_best']}" if best else "No training layout fits.")
        rows = [{**r["layout"], "step_time_s": r["step_time_s"], "mfu": r["mfu"],
                 **{f"time.{k}": v for k, v in f.step_terms(r["time_breakdown_s"]).items()}} for r in t["ranked"]]
        out.append(("training", "Training: the best layouts", reading,
                    chart(f.training_figure(d), "c-training") + csv_link(rows, "training_layouts")))
    if d.get("lab"):
        lab = d["lab"]
        out.append(("reduced-precision", "Reduced precision: training recipes and post-training quantization",
                    lab_reading(lab), chart(f.lab_figure(d), "c-lab")
                    + table(lab["runs"], LAB_RUN_COLUMNS) + csv_link(lab["runs"], "lab_recipes")
                    + table(lab["ptq"]) + csv_link(lab["ptq"], "lab_ptq")))
    out.append(("pareto", "Pareto front of deployments", pareto_reading(d),
                chart(f.pareto_figure(d), "c-pareto") + csv_link(d["pareto"], "pareto_points")))
    lever_rows = [{k: v for k, v in lv.items() if k != "scan"} for lv in fb["levers"]]
    out.append(("hardware-feedback", f"Hardware feedback on {fb['hardware']}",
                _hw_reading(fb), chart(f.tornado_figure(d), "c-tornado") + csv_link(lever_rows, "hardware_levers")
                + table(fb["whatifs"], ["name", "change", "gain", "bound_before", "bound_after", "note"], "+.1%")
                + (chart(f.whatif_figure(d), "c-whatif") if any(w["gain"] for w in fb["whatifs"]) else "")
                + csv_link(fb["whatifs"], "chip_changes")))
    if fb["model_levers"]:
        best = max((m for m in fb["model_levers"] if m["gain"] is not None), key=lambda m: m["gain"])
        out.append(("model-feedback", "Model feedback",
                    f"On the same chip the model change that helps most is {best['name']} ({best['change']}): "
                    f"{best['gain']:+.1%} {fb['objective']['name']}.",
                    chart(f.model_lever_figure(d), "c-model") + csv_link(fb["model_levers"], "model_levers")))
    if fb["answers"]:
        a = fb["answers"]
        out.append(("answers", "Cost per answer",
                    "; ".join(f"{x['name']} ({x['tokens_mean']:.0f} tokens) costs {x['cost_per_answer']:.3g} "
                              f"{x['cost_unit']} and takes {x['latency_mean_s']:.3g} s" for x in a)
                    + " on the recommended deployment.",
                    chart(f.answers_figure(d), "c-answers") + csv_link(a, "cost_per_answer")))
    v = d["validation"]
    med = [{"category": k, "median_abs_error": x,
            "cases": sum(1 for c in v["cases"] if c["category"] == k)}
           for k, x in v["summary"]["median_abs_error_by_category"].items()]
    out.append(("validation", "Validation: predicted vs published", validation_reading(v),
                table(med, fmt=".1%") + chart(f.validation_figure(d), "c-validation")
                + csv_link(v["cases"], "validation")))
    prov = d["provenance"]
    kinds = {k: sum(1 for r in prov if r["kind"] == k) for k in ("published", "calibrated", "assumed")}
    out.append(("provenance", "Provenance appendix",
                f"{len(prov)} numbers used: {kinds['published']} published, {kinds['calibrated']} calibrated on named "
                f"validation cases, {kinds['assumed']} assumed — each with its source below.",
                csv_link(prov, "provenance") + table(prov)))
    return out



DISAGG_COLUMNS = {"rank": "rank", "mode": "mode", "prefill_hardware": "prefill chip", "decode_hardware": "decode chip",
                  "prefill_rps_per_gpu": "prefill req/s per GPU", "decode_rps_per_gpu": "decode req/s per GPU",
                  "p_to_d": "P:D GPUs", "rps_per_gpu": "req/s per GPU", "rps_per_gpu_ideal": "at the exact ratio",
                  "binds": "binds", "vs_best_aggregated": "vs best aggregated",
                  "usd_per_million_output_tokens": "$ per M output tokens", "skipped": "skipped because"}


def _disagg_body(s: dict[str, Any], serving: dict[str, Any] | None = None) -> str:
    """The ranked pair table (percentages and $ formatted), the method, the command that simulates the top pair."""
    cols = [c for c in DISAGG_COLUMNS if c != "usd_per_million_output_tokens" or s["usd_per_gpu_hour"]]
    rows = []
    for r in s["rows"]:
        row = {DISAGG_COLUMNS[c]: r.get(c) for c in cols if r.get(c) is not None}
        if r.get("vs_best_aggregated") is not None:
            row[DISAGG_COLUMNS["vs_best_aggregated"]] = f"{r['vs_best_aggregated']:+.1%}"
        if r.get("usd_per_million_output_tokens") is not None:
            row[DISAGG_COLUMNS["usd_per_million_output_tokens"]] = f"{r['usd_per_million_output_tokens']:.3g}"
        rows.append(row)
    cmd = s["compare_command"]
    return (table(rows, [DISAGG_COLUMNS[c] for c in cols])
            + f'<p class="small">Method: {html.escape(s["method"])}. Every pool is one GPU (TP1, the '
            f"{s['deployment']['engine']} engine preset); a pair's P:D is the split of at most {s['max_gpus']} "
            f"GPUs with the most requests/s per GPU (the smaller pool's rate over all the GPUs; that pool "
            f"binds), within rounding of 1/(1/prefill + 1/decode) at the exact ratio; aggregated time-shares one "
            f"GPU between the same prefill and decode work, 1/(1/prefill + 1/decode), so under the screen a "
            f"same-chip split can only tie it: what a split buys (decode steps free of prefill chunks) and costs "
            f"(KV transfer, queueing) is for the simulator to measure.{_scale(s, serving)}</p>"
            + (f'<p class="small">Simulate the top pair against aggregated: <code>{html.escape(cmd)}</code></p>'
               if cmd else "")
            + csv_link(s["rows"], "disaggregated_pairs"))


def _scale(s: dict[str, Any], serving: dict[str, Any] | None) -> str:
    """The simulated aggregated capacity of the serving section beside the screen's rate for the same chip."""
    if not serving:
        return ""
    chip = serving["deployment"]["hardware"]
    agg = next((r for r in s["rows"] if r["mode"] == "aggregated" and r["prefill_hardware"] == chip
                and r["skipped"] is None), None)
    if agg is None:
        return ""
    return (f" For scale: the simulator completes up to {serving['saturated_rate_rps']:.3g} requests/s on one "
            f"{chip} (serving section, several prompts and the decode batch in one step) where this screen gives "
            f"{agg['rps_per_gpu']:.3g}; the screen ranks the pairs, the simulator measures them.")


def _hw_reading(fb: dict[str, Any]) -> str:
    top = [lv for lv in fb["levers"] if lv["gain"] > 0]
    if not top:
        return f"No chip field improves {fb['objective']['name']} on this workload."
    lv = top[0]
    return (f"{fb['hardware']} is {fb['base']['bound']}-bound here; the field that helps most is {lv['path']} "
            f"(elasticity {lv['elasticity']:.2f}: {lv['change']:+.0%} gives {lv['gain']:+.1%}).")


def render_page(d: dict[str, Any]) -> str:
    sections = _sections(d)
    nav = "".join(f'<a href="#{sid}">{html.escape(t.split(":")[0])}</a>' for sid, t, _, _ in sections)
    body = "".join(section(*s) for s in sections)
    data = json.dumps(json_safe(d), allow_nan=False).replace("</", "<\\/")
    sc = d["scenario"]
    sub = (f"{', '.join(sc['models'])} on {', '.join(sc['hardware'])} in {', '.join(sc['precisions'])}; "
           f"{sc['input_len']} tokens in, {sc['output_len']} out; SLO TTFT {sc['slo']['ttft_s']:g} s, "
           f"TPOT {sc['slo']['tpot_s'] * 1e3:g} ms. Scenario: {sc['source']}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(d["title"])}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style>'
            f"<script>{get_plotlyjs()}</script></head><body><main><h1>{html.escape(d['title'])}</h1>"
            f'<p class="small">{html.escape(sub)}</p><nav>{nav}</nav>{body}'
            f'<script type="application/json" id="coscale-data">{data}</script></main></body></html>')

