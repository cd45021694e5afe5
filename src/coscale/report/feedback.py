"""`coscale feedback`: the run's one JSON-ready dict, and the tables drawn from it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from coscale.cost.roofline import BOUNDS
from coscale.explore.feedback.run import FeedbackResult
from coscale.explore.objectives import get_objective
from coscale.predict.sweep import REASONS


def feedback_to_dict(r: FeedbackResult) -> dict[str, Any]:
    obj = get_objective(r.objective)
    base = r.base
    return {
        "hardware": r.hardware.id,
        "objective": {"name": obj.name, "unit": obj.unit, "maximize": obj.maximize},
        "workload": {"source": r.workload.source, "entries": [
            {"name": e.name, "model": e.model_id, "precision": e.precision.name, "input_len": e.input_len,
             "output_len": e.output_len, "batch_rule": e.batch_rule, "weight": e.weight,
             "tp": e.parallel.tp, "pp": e.parallel.pp, "ep": e.parallel.ep, "gpus": e.parallel.gpus}
            for e in r.workload.entries]},
        "base": {"value": base.value, "bound": base.bound,
                 "time_share_by_bound": dict(zip(BOUNDS, base.shares, strict=True)),
                 "entries": [{"name": x.entry.name, "value": float(x.value), "batch": float(x.batch),
                              "reason": REASONS[int(x.reason)], "prefill_bound": BOUNDS[int(x.prefill_bound)],
                              "decode_bound": BOUNDS[int(x.decode_bound)]} for x in base.entries]},
        "levers": [{"path": lv.path, "change": lv.change, "gain": lv.gain, "elasticity": lv.elasticity,
                    "base_value": lv.base_value, "bound_before": lv.bound_before, "bound_after": lv.bound_after,
                    "saturates_at": lv.saturates_at, "scan": [list(p) for p in lv.scan]} for lv in r.levers],
        "whatifs": [asdict(w) for w in r.whatifs],
        "flip": {"entry": r.flip.entry, "total_len": r.flip.total_len,
                 "flips": [asdict(f) for f in r.flip.flips],
                 "scan": [{"input_over_output": x, "top": t, "gain": g}
                          for x, t, g in zip(r.flip.ratios, r.flip.top, r.flip.top_gain, strict=True)]},
        "model_levers": None if r.model_levers is None else [asdict(m) for m in r.model_levers],
        "answers": None if r.answers is None else [asdict(a) for a in r.answers],
        "assumptions": list(r.assumptions),
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def print_feedback(d: dict[str, Any], console: Console) -> None:
    obj = d["objective"]
    base = d["base"]
    console.print(f"[bold]coscale feedback[/] on {d['hardware']}: objective {obj['name']} = "
                  f"{base['value']:,.4g} {obj['unit']}; binding resource {base['bound']} ("
                  + ", ".join(f"{k} {v:.0%}" for k, v in base["time_share_by_bound"].items() if v >= 0.005) + ")")
    t = Table(title="hardware levers, ranked: +X % of a field gives +Y % objective")
    for col in ("field", "change", "gain", "elasticity", "bound before", "bound after", "saturates at"):
        t.add_column(col, justify="right" if col in ("change", "gain", "elasticity", "saturates at") else "left")
    for lv in d["levers"]:
        if lv["gain"] == 0:
            continue
        sat = "beyond 8x" if lv["saturates_at"] is None else f"{lv['saturates_at']:g}x"
        t.add_row(lv["path"], f"{lv['change']:+.0%}", _pct(lv["gain"]), f"{lv['elasticity']:.2f}",
                  lv["bound_before"], lv["bound_after"], sat)
    console.print(t)
    idle = [lv["path"] for lv in d["levers"] if lv["gain"] == 0]
    if idle:
        console.print("no effect on this workload: " + ", ".join(idle))
    w = Table(title="what-ifs")
    for col in ("what-if", "change", "gain", "bound before", "bound after", "note"):
        w.add_column(col)
    for x in d["whatifs"]:
        w.add_row(x["name"], x["change"], _pct(x["gain"]), x["bound_before"], x["bound_after"], x["note"])
    console.print(w)
    flip = d["flip"]
    if flip["flips"]:
        for f in flip["flips"]:
            console.print(f"flip ({flip['entry']}, {flip['total_len']} tokens): below input/output = "
                          f"{f['ratio']:.3g} the top lever is {f['before']}; above it, {f['after']}")
    else:
        console.print(f"no flip: {flip['scan'][0]['top']} stays the top lever for input/output ratios "
                      f"{flip['scan'][0]['input_over_output']:.3g} .. {flip['scan'][-1]['input_over_output']:.3g}")
    if d["model_levers"] is not None:
        m = Table(title="model levers (same chip), ranked by objective gain")
        for col in ("lever", "change", "gain", "context/GPU gain", "params total (B)", "active (B)", "note"):
            m.add_column(col)
        for x in d["model_levers"]:
            m.add_row(x["name"], x["change"], _pct(x["gain"]), _pct(x["context_gain"]),
                      f"{x['params_total'] / 1e9:.2f}", f"{x['params_active'] / 1e9:.2f}", x["note"])
        console.print(m)
        ranked = [x for x in d["model_levers"] if x["gain"] is not None]
        if ranked:
            best = ranked[0]
            console.print(f"most {obj['name']}: {best['name']} ({_pct(best['gain'])})")
        ctx = [x for x in d["model_levers"] if x["context_gain"] is not None]
        if ctx:
            best_ctx = max(ctx, key=lambda x: x["context_gain"])
            console.print(f"most context per GPU: {best_ctx['name']} ({_pct(best_ctx['context_gain'])}, "
                          f"{best_ctx['context_per_gpu']:,.0f} tokens)")
    if d["answers"] is not None:
        a = Table(title="cost and latency per answer (ranked by cost per answer)")
        for col in ("option", "model", "tokens/answer", "quality", "cost/answer", "cost/correct", "latency mean",
                    "latency p90"):
            a.add_column(col)
        for x in d["answers"]:
            per_correct = "n/a" if x["cost_per_correct"] is None else f"{x['cost_per_correct']:.4g} {x['cost_unit']}"
            a.add_row(x["name"], f"{x['model']} {x['precision']}", f"{x['tokens_mean']:,.0f}",
                      "n/a" if x["quality"] is None else f"{x['quality']:.3g}",
                      f"{x['cost_per_answer']:.4g} {x['cost_unit']}", per_correct, f"{x['latency_mean_s']:.3g} s",
                      f"{x['latency_p90_s']:.3g} s")
        console.print(a)
    for note in d["assumptions"]:
        console.print(f"assumption: {note}")
