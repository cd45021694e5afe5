"""Plotly figures of the report, each drawn from the report dict (`build.build_report`) and nothing else."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import plotly.graph_objects as go

from coscale.cost.roofline import BOUNDS

GiB = 2**30
MEMORY_PARTS = ("weights", "kv_cache", "ssm_state", "activations", "runtime_reserve")
LAYOUT = {"template": "plotly_white", "height": 420, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
          "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}}


def _fig(title: str, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, **{**LAYOUT, **layout})
    return fig


def config_label(c: dict[str, Any]) -> str:
    return f"{c['model']} / {c['hardware']} / {c['precision']}"


def summary_figure(d: dict[str, Any]) -> go.Figure:
    fig = _fig("Throughput per GPU at the scenario's batch, every configuration", xaxis_title="output tok/s per GPU",
               height=max(320, 22 * len(d["configs"]) + 120), margin={"l": 330, "r": 20, "t": 50, "b": 50})
    rows = [c for c in d["configs"] if c["fits"]]
    rows.sort(key=lambda c: c["prediction"]["throughput_tok_s_per_gpu"])
    fig.add_bar(y=[config_label(c) for c in rows], x=[c["prediction"]["throughput_tok_s_per_gpu"] for c in rows],
                orientation="h", marker_color="#4C78A8",
                hovertext=[f"batch {c['prediction']['batch']}, TTFT {c['prediction']['ttft_s']:.3g} s, "
                           f"TPOT {c['prediction']['tpot_s'] * 1e3:.3g} ms" for c in rows])
    return fig


def anatomy_figure(d: dict[str, Any]) -> go.Figure:
    fig = _fig("Parameters by layer kind (total and active)", yaxis_title="parameters (billions)", barmode="group")
    for m in d["models"]:
        kinds = list(m["params_by_kind"])
        fig.add_bar(name=f"{m['model']} total", x=kinds, y=[m["params_by_kind"][k]["total"] / 1e9 for k in kinds])
        fig.add_bar(name=f"{m['model']} active", x=kinds, y=[m["params_by_kind"][k]["active"] / 1e9 for k in kinds])
    return fig


def roofline_figure(d: dict[str, Any], chip: dict[str, Any]) -> go.Figure:
    """Operators at (FLOP/byte, achieved FLOP/s) under the chip's HBM slope and compute ceilings."""
    fig = _fig(f"Roofline of {chip['name']}: every operator of prefill and decode", xaxis_type="log",
               yaxis_type="log", xaxis_title="arithmetic intensity (FLOP/byte)", yaxis_title="achieved FLOP/s per GPU")
    pred = d["recommended"]["prediction"]
    xs = [0.01, 1e5]
    bw = chip["hbm_bandwidth_Bps"]
    for cls, peak in chip["peaks"].items():
        knee = peak / bw
        fig.add_scatter(x=[xs[0], knee, xs[1]], y=[xs[0] * bw, peak, peak], mode="lines", name=f"{cls} roof",
                        line={"dash": "dot"}, hovertemplate=f"{cls} peak %{{y:.3g}} FLOP/s<extra></extra>")
    for phase, symbol in (("prefill", "circle"), ("decode", "diamond")):
        ops = [o for o in pred[phase]["operators"] if o["flops"] > 0 and o["bytes"] > 0 and o["time_s"] > 0]
        fig.add_scatter(x=[o["flops"] / o["bytes"] for o in ops], y=[o["flops"] / o["time_s"] for o in ops],
                        mode="markers", name=phase, marker={"symbol": symbol, "size": 9},
                        text=[f"{o['name']} ({o['layer']}), {o['bound']}-bound, {o['time_s'] * 1e3:.3g} ms"
                              for o in ops],
                        hovertemplate="%{text}<br>%{x:.3g} FLOP/B, %{y:.3g} FLOP/s<extra></extra>")
    return fig


def op_time_rows(pred: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-operator time, summed over layers, per phase (from the prediction's operator list)."""
    rows = []
    for phase in ("prefill", "decode"):
        time: dict[str, float] = defaultdict(float)
        bound: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for o in pred[phase]["operators"]:
            time[o["name"]] += o["time_s"]
            bound[o["name"]][o["bound"]] += o["time_s"]
        total = sum(time.values()) or 1.0
        for name, t in sorted(time.items(), key=lambda kv: -kv[1]):
            rows.append({"phase": phase, "operator": name, "time_s": t, "share": t / total,
                         "bound": max(bound[name], key=bound[name].__getitem__)})
    return rows


def op_time_figure(d: dict[str, Any]) -> go.Figure:
    rows = op_time_rows(d["recommended"]["prediction"])
    fig = _fig("Per-operator share of each phase's time (colour: binding resource)", barmode="stack",
               xaxis_title="share of phase time", xaxis_tickformat=".0%")
    colors = dict(zip(BOUNDS, ("#E45756", "#4C78A8", "#F58518", "#9D755D"), strict=True))
    for r in rows:
        fig.add_bar(y=[r["phase"]], x=[r["share"]], orientation="h", name=r["operator"], showlegend=False,
                    marker_color=colors.get(r["bound"], "#888"),
                    hovertemplate=f"{r['operator']}: {r['time_s'] * 1e3:.3g} ms ({r['share']:.1%}), "
                                  f"{r['bound']}-bound<extra></extra>")
    return fig


def memory_figure(d: dict[str, Any], axis: str) -> go.Figure:
    mem = d["memory"]
    key, title = ("by_batch", "batch (sequences per GPU)") if axis == "batch" else ("by_context", "context (tokens)")
    cols = mem[key]
    x = cols["batch" if axis == "batch" else "context"]
    sub = "" if axis == "batch" else f" at batch {mem['batch_at_context']}"
    fig = _fig(f"Memory per GPU vs {axis}{sub}", barmode="stack", xaxis_title=title, yaxis_title="GiB",
               xaxis_type="category")
    labels = [f"{v:,.0f}" for v in x]
    for part in MEMORY_PARTS:
        fig.add_bar(x=labels, y=[v / GiB for v in cols[part]], name=part)
    fig.add_scatter(x=labels, y=[mem["capacity_bytes"] / GiB] * len(labels), mode="lines", name="capacity",
                    line={"color": "black", "dash": "dash"})
    return fig


def pareto_figure(d: dict[str, Any]) -> go.Figure:
    fig = _fig("Deployments: throughput per GPU vs speed per user (front in black)", xaxis_type="log",
               xaxis_title="output tok/s per user (1 / TPOT)", yaxis_title="output tok/s per GPU", yaxis_type="log",
               height=500)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in d["pareto"]:
        groups[config_label(p)].append(p)
    for label, pts in groups.items():
        fig.add_scatter(x=[p["tok_s_per_user"] for p in pts], y=[p["throughput_tok_s_per_gpu"] for p in pts],
                        mode="lines+markers", name=label, opacity=0.75, text=[_hover(p) for p in pts],
                        hovertemplate="%{text}<extra></extra>")
    front = sorted((p for p in d["pareto"] if p["pareto"]), key=lambda p: p["tok_s_per_user"])
    fig.add_scatter(x=[p["tok_s_per_user"] for p in front], y=[p["throughput_tok_s_per_gpu"] for p in front],
                    mode="lines+markers", name="Pareto front", line={"color": "black", "width": 3},
                    text=[_hover(p) for p in front], hovertemplate="%{text}<extra></extra>")
    slo = d["scenario"]["slo"]["tpot_s"]
    ys = [p["throughput_tok_s_per_gpu"] for p in d["pareto"]]
    fig.add_scatter(x=[1.0 / slo] * 2, y=[min(ys), max(ys)], mode="lines", name=f"TPOT SLO {slo * 1e3:g} ms",
                    line={"color": "grey", "dash": "dash"})
    return fig


def _hover(p: dict[str, Any]) -> str:
    cost = "" if p.get("usd_per_mtok") is None else f"<br>${p['usd_per_mtok']:.3g} per M output tokens"
    return (f"{config_label(p)}, batch {p['batch']}<br>TTFT {p['ttft_s']:.3g} s, TPOT {p['tpot_s'] * 1e3:.3g} ms"
            f"{cost}<br>{'meets' if p['meets_slo'] else 'misses'} the SLO")


def tornado_figure(d: dict[str, Any]) -> go.Figure:
    levers = [lv for lv in d["feedback"]["levers"] if lv["elasticity"] != 0][::-1]
    fig = _fig(f"Chip levers: elasticity of {d['feedback']['objective']['name']} (+1 % of the field gives +e %)",
               xaxis_title="elasticity", height=max(300, 26 * len(levers) + 120),
               margin={"l": 220, "r": 20, "t": 50, "b": 50})
    fig.add_bar(y=[lv["path"] for lv in levers], x=[lv["elasticity"] for lv in levers], orientation="h",
                marker_color=["#54A24B" if lv["elasticity"] > 0 else "#E45756" for lv in levers],
                hovertext=[f"{lv['change']:+.0%} gives {lv['gain']:+.1%}; {lv['bound_before']} -> {lv['bound_after']}"
                           for lv in levers])
    return fig


def whatif_figure(d: dict[str, Any]) -> go.Figure:
    rows = sorted(d["feedback"]["whatifs"], key=lambda w: w["gain"] if w["gain"] is not None else -1e9)
    fig = _fig("Chip changes, ranked by gain", xaxis_title="objective gain", xaxis_tickformat="+.0%",
               height=max(300, 26 * len(rows) + 120), margin={"l": 220, "r": 20, "t": 50, "b": 50})
    fig.add_bar(y=[w["name"] for w in rows], x=[w["gain"] or 0.0 for w in rows], orientation="h",
                hovertext=[w["change"] for w in rows], marker_color="#4C78A8")
    return fig


def model_lever_figure(d: dict[str, Any]) -> go.Figure:
    rows = [m for m in d["feedback"]["model_levers"] or [] if m["gain"] is not None][::-1]
    fig = _fig("Model changes on the same chip: throughput gain and context-per-GPU gain", barmode="group",
               xaxis_tickformat="+.0%", height=max(300, 34 * len(rows) + 120),
               margin={"l": 220, "r": 20, "t": 50, "b": 50})
    fig.add_bar(y=[m["name"] for m in rows], x=[m["gain"] for m in rows], orientation="h", name="objective",
                hovertext=[m["change"] for m in rows])
    fig.add_bar(y=[m["name"] for m in rows], x=[m["context_gain"] or 0.0 for m in rows], orientation="h",
                name="context per GPU")
    return fig


def answers_figure(d: dict[str, Any]) -> go.Figure:
    rows = d["feedback"]["answers"] or []
    unit = rows[0]["cost_unit"] if rows else "$"
    fig = _fig("Cost per answer", yaxis_title=f"cost per answer ({unit})")
    fig.add_bar(x=[a["name"] for a in rows], y=[a["cost_per_answer"] for a in rows],
                hovertext=[f"{a['tokens_mean']:.0f} tokens, latency {a['latency_mean_s']:.3g} s" for a in rows])
    return fig


def validation_figure(d: dict[str, Any]) -> go.Figure:
    fig = _fig("Predicted vs published, every shipped case (ratio; 1 = exact)", xaxis_type="log",
               yaxis_type="log", xaxis_title="published", yaxis_title="predicted", height=500)
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in d["validation"]["cases"]:
        if c["published"] > 0 and c["predicted"] > 0:
            by_cat[c["category"]].append(c)
    lo = min(min(c["published"], c["predicted"]) for cs in by_cat.values() for c in cs)
    hi = max(max(c["published"], c["predicted"]) for cs in by_cat.values() for c in cs)
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="exact", line={"color": "black", "dash": "dot"})
    for cat, cs in sorted(by_cat.items()):
        fig.add_scatter(x=[c["published"] for c in cs], y=[c["predicted"] for c in cs], mode="markers", name=cat,
                        text=[f"{c['id']}: {c['error']:+.1%} ({c['unit']})" for c in cs],
                        hovertemplate="%{text}<extra></extra>")
    return fig


def serving_figure(d: dict[str, Any], metric: str) -> go.Figure:
    """TTFT or TPOT percentiles against the arrival rate, with the SLO and the knee."""
    s = d["serving"]
    pts = [p for p in s["points"] if not p["overloaded"]]
    name = {"ttft_s": "TTFT", "tpot_s": "TPOT"}[metric]
    dep = s["deployment"]
    fig = _fig(f"{name} percentiles vs arrival rate: {dep['model']} on {dep['hardware']}, {dep['precision']} "
               f"({dep['engine']}, aggregated)", xaxis_title="arrival rate (requests/s)", yaxis_title=f"{name} (s)",
               yaxis_type="log")
    x = [p["rate_rps"] for p in pts]
    for q in ("p50", "p90", "p99"):
        fig.add_scatter(x=x, y=[p[metric][q] for p in pts], mode="lines+markers", name=f"{name} {q}",
                        text=[f"{p['throughput_tok_s']:,.0f} output tok/s, {p['preemptions']} preemptions"
                              for p in pts], hovertemplate="%{x:.3g} req/s: %{y:.3g} s<br>%{text}<extra></extra>")
    slo = s["slo_p99"][metric]
    fig.add_scatter(x=[min(x), max(x)], y=[slo, slo], mode="lines", name=f"SLO (p99) {slo:g} s",
                    line={"color": "black", "dash": "dash"})
    if s["knee"]:
        ys = [p[metric][q] for p in pts for q in ("p50", "p99")] + [slo]
        fig.add_scatter(x=[s["knee"]["rate_rps"]] * 2, y=[min(ys), max(ys)], mode="lines", name="SLO knee",
                        line={"color": "#E45756", "dash": "dot"})
    return fig


def training_figure(d: dict[str, Any]) -> go.Figure:
    t = d["training"]
    fig = _fig("Step time of the best training layouts, by term", barmode="stack", yaxis_title="seconds per step")
    labels = [f"#{i + 1} " + " ".join(f"{k.upper()}{r['layout'][k]}" for k in ("tp", "cp", "pp", "vp", "dp", "ep"))
              + f" mb{r['layout']['micro_batch']} {r['layout']['recompute']} ZeRO-{r['layout']['zero']}"
              for i, r in enumerate(t["ranked"])]
    rows = [step_terms(r["time_breakdown_s"]) for r in t["ranked"]]
    for k in rows[0] if rows else {}:
        fig.add_bar(x=labels, y=[row[k] for row in rows], name=k)
    return fig


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys (exposed_comm.tp, ...), for tables and CSV."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def step_terms(breakdown: dict[str, Any]) -> dict[str, float]:
    """The planner's step-time breakdown as named terms, without its totals."""
    return {k: float(v) for k, v in flatten(breakdown).items() if k.rsplit(".", 1)[-1] != "total"}


def lab_figure(d: dict[str, Any]) -> go.Figure:
    lab = d["lab"]
    fig = _fig(f"Train loss ({lab['window']}-step mean) and validation loss per recipe, preset {lab['preset']}",
               xaxis_title="step", yaxis_title=f"loss ({lab['loss_unit']})")
    for c in lab["curves"]:
        fig.add_trace(go.Scatter(x=list(range(1, len(c["train_loss"]) + 1)), y=c["train_loss"], name=c["recipe"],
                                 legendgroup=c["recipe"], mode="lines"))
        fig.add_trace(go.Scatter(x=c["val_steps"], y=c["val_loss"], name=f"{c['recipe']} (val)",
                                 legendgroup=c["recipe"], mode="markers", showlegend=False))
    return fig
