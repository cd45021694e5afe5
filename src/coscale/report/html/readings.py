"""One-sentence readings of the report's sections, and the small tables they quote — worded from the
report dict's numbers (nothing is computed here that the library did not already return)."""

from __future__ import annotations

from typing import Any

GiB = 2**30


def levers_ranked(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Every lever the feedback run priced (chip fields, chip what-ifs, model changes), largest gain first."""
    fb = d["feedback"]
    rows = [{"lever": lv["path"], "kind": "chip field", "change": f"{lv['change']:+.0%}", "gain": lv["gain"]}
            for lv in fb["levers"]]
    rows += [{"lever": w["name"], "kind": "chip change", "change": w["change"], "gain": w["gain"]}
             for w in fb["whatifs"] if w["gain"] is not None]
    rows += [{"lever": m["name"], "kind": "model change", "change": m["change"], "gain": m["gain"]}
             for m in fb["model_levers"] or [] if m["gain"] is not None]
    return sorted(rows, key=lambda r: -r["gain"])


def summary_reading(d: dict[str, Any], levers: list[dict[str, Any]]) -> str:
    rec = d["recommended"]
    p = rec["prediction"]
    slo = d["scenario"]["slo"]
    meets = "meets" if rec["meets_slo"] else "is the best available but misses"
    top = ", ".join(f"{r['lever']} ({r['gain']:+.0%})" for r in levers[:3])
    return (f"{rec['model']} on {rec['hardware']} in {rec['precision']} at batch {rec['batch']} gives the most "
            f"throughput per GPU ({p['throughput_tok_s_per_gpu']:,.0f} tok/s) and {meets} the SLO (TTFT "
            f"{p['ttft_s']:.3g} s vs {slo['ttft_s']:g} s, TPOT {p['tpot_s'] * 1e3:.3g} ms vs "
            f"{slo['tpot_s'] * 1e3:g} ms); "
            f"the three biggest levers are {top}.")


def anatomy_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for m in d["models"]:
        row: dict[str, Any] = {"model": m["model"], "layers": m["num_layers"],
                               "by kind": ", ".join(f"{v} {k}" for k, v in m["layers"].items()),
                               "params total (B)": m["params_total"] / 1e9,
                               "params active (B)": m["params_active"] / 1e9}
        for fmt, b in m["kv_bytes_per_token"].items():
            row[f"KV B/token {fmt}"] = b
        for fmt, b in m["ssm_state_bytes_per_sequence"].items():
            row[f"Mamba state MiB/seq {fmt}"] = b / 2**20
        rows.append(row)
    return rows


def roofline_reading(d: dict[str, Any], op_rows: list[dict[str, Any]]) -> str:
    p = d["recommended"]["prediction"]
    parts = []
    for phase in ("prefill", "decode"):
        top = next(r for r in op_rows if r["phase"] == phase)
        share = p[phase]["time_share_by_bound"][p[phase]["bound"]]
        parts.append(f"{phase} is {p[phase]['bound']}-bound ({share:.0%} of its time), led by {top['operator']} "
                     f"({top['share']:.0%})")
    return "; ".join(parts) + "."


def memory_reading(d: dict[str, Any]) -> str:
    m = d["memory"]
    cap = m["capacity_bytes"]
    b = m["by_batch"]
    total = [sum(b[k][i] for k in ("weights", "kv_cache", "ssm_state", "activations", "runtime_reserve"))
             for i in range(len(b["batch"]))]
    fits = [x for x, t in zip(b["batch"], total, strict=True) if t <= cap]
    most = f"up to batch {max(fits):.0f}" if fits else "at no batch"
    rec = d["recommended"]
    return (f"{rec['model']} in {rec['precision']} on {rec['hardware']}: weights take {b['weights'][0] / GiB:.1f} GiB "
            f"of {cap / GiB:.0f} GiB; at {d['scenario']['input_len'] + d['scenario']['output_len']} tokens per "
            f"sequence it fits {most} of the batches shown.")


def pareto_reading(d: dict[str, Any]) -> str:
    front = [p for p in d["pareto"] if p["pareto"]]
    configs = sorted({f"{p['model']} / {p['hardware']} / {p['precision']}" for p in front})
    return (f"{len(front)} of {len(d['pareto'])} (configuration, batch) points are Pareto-optimal in throughput per "
            f"GPU and tokens/s per user; the front is made of {', '.join(configs)}.")


def validation_reading(v: dict[str, Any]) -> str:
    s = v["summary"]
    med = ", ".join(f"{k} {x:.1%}" for k, x in s["median_abs_error_by_category"].items())
    band = s["error_band_calibration"]
    return (f"{len(v['cases'])} shipped published cases; median absolute error per category: {med}; "
            f"{band['share_inside']:.0%} of {band['cases']} out-of-sample cases fall inside their "
            f"{band['level']:.0%} error band.")


def serving_reading(s: dict[str, Any]) -> str:
    dep = s["deployment"]
    knee = s["knee"]
    slo = s["slo_p99"]
    if knee is None:
        where = f"no simulated rate meets the p99 SLO ({s['knee_note']})"
    elif knee["capped_at_saturation"]:
        where = (f"the p99 SLO (TTFT {slo['ttft_s']:g} s, TPOT {slo['tpot_s'] * 1e3:g} ms) holds up to saturation, "
                 f"{knee['rate_rps']:.3g} requests/s")
    else:
        where = (f"the p99 SLO (TTFT {slo['ttft_s']:g} s, TPOT {slo['tpot_s'] * 1e3:g} ms) holds up to "
                 f"{knee['rate_rps']:.3g} requests/s of the {s['saturated_rate_rps']:.3g} it can complete")
    return (f"Simulated request by request ({dep['engine']}, {s['workload']['length_dist']} lengths, "
            f"{s['workload']['num_requests']} requests per rate), {dep['model']} on one {dep['hardware']} in "
            f"{dep['precision']}: {where} (aggregated replicas; the next section screens prefill and decode on "
            f"separate chips).")


def disagg_reading(s: dict[str, Any]) -> str:
    dep = s["deployment"]
    head = (f"Static rate-matching screen (no queueing, no KV-transfer time) of {dep['model']} in {dep['precision']} "
            f"at {s['mean_input_tokens']:.0f} tokens in, {s['mean_output_tokens']:.0f} out, TPOT ≤ "
            f"{s['tpot_s'] * 1e3:g} ms: ")
    skipped = [p["hardware"] for p in s["pools"] if p["prefill_rps_per_gpu"] is None]
    tail = f"; skipped (does not fit): {', '.join(skipped)}" if skipped else ""
    top, agg = s["best_pair"], s["best_aggregated"]
    if top is None:
        return f"{head}no chip of the scenario can serve it as a prefill/decode pair (reasons in the table){tail}."
    pair = (f"prefill on {top['prefill_hardware']} and decode on {top['decode_hardware']} at {top['p_to_d']} P:D "
            f"GPUs ({top['rps_per_gpu']:.3g} requests/s per GPU, "
            f"{top['binds'] + ' binds' if top['binds'] in ('prefill', 'decode') else 'both pools matched'})")
    if agg is None:
        verdict = f"the best split is {pair}; no chip serves both phases under the TPOT limit"
    elif top["vs_best_aggregated"] > 0:
        verdict = (f"the best split, {pair}, beats aggregated on {agg['prefill_hardware']} "
                   f"({agg['rps_per_gpu']:.3g} per GPU) by {top['vs_best_aggregated']:+.1%}")
    else:
        verdict = (f"no split beats aggregated on {agg['prefill_hardware']} ({agg['rps_per_gpu']:.3g} requests/s "
                   f"per GPU); the best split is {pair}, {top['vs_best_aggregated']:+.1%}")
    return (head + verdict + tail + "; the request-level simulator measures what the screen leaves out "
            "(prefill chunks stretching aggregated decode steps, KV transfer, queueing): " + s["compare_command"] + ".")
