"""The disaggregated prefill/decode section: should prefill run on a different chip than decode?

For the recommended deployment (model, precision, KV precision) at the scenario's mean request and TPOT
limit, every (prefill chip, decode chip) pair of the scenario's chips is ranked by the static
rate-matching screen that `coscale serve compare` ranks its candidates with (`serve.disagg.screen`:
a prefill GPU's full-chunk rate, a decode GPU's rate at the largest batch meeting the TPOT limit, each
costed by the pool's own step-cost model; `serve.compare.matched_layouts`: the P:D split whose smaller
pool rate is the pair's rate). Aggregated serving on each chip is the same two rates time-shared on one
GPU, 1 / (1/prefill + 1/decode) requests/s, so a same-chip pair equals it at the exact P:D ratio. The
screen ranks; it does not measure: it has no queueing, no KV-transfer time, no prefill chunks stretching
decode steps, and no decode tokens sharing a prefill step, so its rates differ from the simulator's
capacity. `coscale serve compare`
measures a pair with the request-level simulator. Every pool is one GPU (TP1), as the report's
deployment is.
"""

from __future__ import annotations

from typing import Any

from coscale.errors import CoscaleError
from coscale.serve.compare import CompareSpec, matched_layouts
from coscale.serve.disagg.screen import decode_rate, prefill_rate
from coscale.serve.scenario import Deployment, build
from coscale.serve.workload import LENGTH_PRESETS

MAX_GPUS = 16  # the largest prefill + decode GPU count searched for the best integer P:D ratio
ENGINE = "vllm"  # the engine preset of the report's serving section and of `serve compare`'s default
SCREEN = ("static rate-matching screen (no queueing, no KV-transfer time, no interference between prefill "
          "and decode; prefill steps filled with whole mean prompts): per-GPU request rates from the step-cost "
          "model that rank the pairs, not a simulation and not a capacity")


def _pool_rates(model: str, chip: str, precision: str, kv_precision: str | None, mean_in: float,
                mean_out: float, tpot_s: float) -> dict[str, Any]:
    """One TP1 instance of `chip`: its prefill and decode requests/s (or why it cannot serve)."""
    row: dict[str, Any] = {"hardware": chip, "prefill_rps_per_gpu": None, "decode_rps_per_gpu": None,
                           "decode_batch": None, "aggregated_rps_per_gpu": None, "skipped": None}
    try:
        built = build(Deployment(model=model, hardware=chip, precision=precision, kv_precision=kv_precision,
                                 engine=ENGINE))
    except CoscaleError as exc:
        row["skipped"] = str(exc)
        return row
    rp = prefill_rate(built, mean_in)
    rd, batch = decode_rate(built, mean_in, mean_out, tpot_s)
    row["prefill_rps_per_gpu"] = rp
    if rd > 0:
        row["decode_rps_per_gpu"], row["decode_batch"] = rd, batch
        row["aggregated_rps_per_gpu"] = 1.0 / (1.0 / rp + 1.0 / rd)
    else:
        row["skipped"] = (f"no decode batch on {chip} meets the TPOT limit of {tpot_s * 1e3:g} ms "
                          f"(it can still be a prefill chip)")
    return row


def _cost(row: dict[str, Any], rps_per_gpu: float, mean_out: float, usd_per_gpu_hour: float | None) -> None:
    row["output_tok_s_per_gpu"] = rps_per_gpu * mean_out
    row["usd_per_request"] = None if usd_per_gpu_hour is None else usd_per_gpu_hour / 3600.0 / rps_per_gpu
    row["usd_per_million_output_tokens"] = (None if usd_per_gpu_hour is None
                                            else row["usd_per_request"] / mean_out * 1e6)


def _pair(spec: CompareSpec, p: dict[str, Any], d: dict[str, Any], mean_out: float,
          usd: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {"mode": "disaggregated", "prefill_hardware": p["hardware"],
                           "decode_hardware": d["hardware"]}
    if p["prefill_rps_per_gpu"] is None or d["decode_rps_per_gpu"] is None:
        row["skipped"] = (f"prefill chip: {p['skipped']}" if p["prefill_rps_per_gpu"] is None
                          else f"decode chip: {d['skipped']}")
        return row
    rp, rd = p["prefill_rps_per_gpu"], d["decode_rps_per_gpu"]
    layouts = matched_layouts(spec, {(1, 1): rp}, {(1, 1): rd})
    # most requests/s per GPU; equal ratios (4:1, 8:2, ...) differ only by float rounding: the fewest GPUs
    best = max(layouts, key=lambda r: (round(r["estimate_rps"] / r["gpus"] / min(rp, rd), 9),  # type: ignore[operator]
                                       -r["gpus"]))  # type: ignore[operator]
    n_p, n_d = int(best["prefill_instances"]), int(best["decode_instances"])  # type: ignore[call-overload]
    pre, dec = float(best["prefill_rps"]), float(best["decode_rps"])  # type: ignore[arg-type]
    rate = float(best["estimate_rps"]) / (n_p + n_d)  # type: ignore[arg-type]
    row.update({"prefill_rps_per_gpu": rp, "decode_rps_per_gpu": rd, "prefill_gpus": n_p, "decode_gpus": n_d,
                "p_to_d": f"{n_p}:{n_d}", "ideal_p_per_d": rd / rp, "rps_per_gpu": rate,
                "rps_per_gpu_ideal": 1.0 / (1.0 / rp + 1.0 / rd),
                "binds": "prefill" if pre < dec else "decode" if dec < pre else "neither (matched)",
                "other_pool_busy": min(pre, dec) / max(pre, dec), "skipped": None})
    _cost(row, rate, mean_out, usd)
    return row


def _aggregated(pool: dict[str, Any], mean_out: float, usd: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {"mode": "aggregated", "prefill_hardware": pool["hardware"],
                           "decode_hardware": pool["hardware"]}
    if pool["aggregated_rps_per_gpu"] is None:
        row["skipped"] = pool["skipped"]
        return row
    rate = pool["aggregated_rps_per_gpu"]
    row.update({"prefill_rps_per_gpu": pool["prefill_rps_per_gpu"], "decode_rps_per_gpu": pool["decode_rps_per_gpu"],
                "prefill_gpus": None, "decode_gpus": None, "p_to_d": "shared", "ideal_p_per_d": None,
                "rps_per_gpu": rate, "rps_per_gpu_ideal": rate,
                "binds": f"time-shared (prefill {rate / pool['prefill_rps_per_gpu']:.0%} of the GPU time)",
                "other_pool_busy": None, "skipped": None})
    _cost(row, rate, mean_out, usd)
    return row


def _command(rec: dict[str, Any], kv_precision: str | None, top: dict[str, Any], agg_chip: str,
             mean_in: float, mean_out: float, length_dist: str, ttft_s: float, tpot_s: float,
             usd: float | None) -> str:
    """The `coscale serve compare` line that measures `top` (and aggregated on `agg_chip`) by simulation."""
    chips = sorted({top["prefill_hardware"], top["decode_hardware"], agg_chip})
    parts = ["coscale serve compare", f"--model {rec['model']}", f"--hardware {agg_chip}",
             f"--prefill-hardware {top['prefill_hardware']}", f"--decode-hardware {top['decode_hardware']}",
             f"--gpus {top['prefill_gpus'] + top['decode_gpus']}", "--tps 1", f"--precision {rec['precision']}"]
    if kv_precision:
        parts.append(f"--kv-precision {kv_precision}")
    if length_dist not in LENGTH_PRESETS:  # a preset brings its own means (serve refuses them beside it)
        parts += [f"--input-len {round(mean_in)}", f"--output-len {round(mean_out)}"]
    parts += [f"--length-dist {length_dist}", f"--slo-ttft-p99 {ttft_s:g}", f"--slo-tpot-p99 {tpot_s:g}"]
    if usd is not None:
        parts.append("--prices " + ",".join(f"{c}={usd:g}" for c in chips))
    return " ".join(parts)


def disagg_section(rec: dict[str, Any], hardware: list[str], kv_precision: str | None, input_len: int,
                   output_len: int, ttft_s: float, tpot_s: float, length_dist: str,
                   usd_per_gpu_hour: float | None) -> dict[str, Any]:
    """Every (prefill chip, decode chip) pair and aggregated serving on every chip, best requests/s per GPU
    first; skipped rows (the model does not fit, no decode batch meets the TPOT limit) last, with why."""
    mean_in, mean_out = float(input_len), float(output_len)
    chips = list(dict.fromkeys(hardware))
    pools = {c: _pool_rates(rec["model"], c, rec["precision"], kv_precision, mean_in, mean_out, tpot_s)
             for c in chips}
    rows = [_aggregated(pools[c], mean_out, usd_per_gpu_hour) for c in chips]
    for pc in chips:
        for dc in chips:
            spec = CompareSpec(model=rec["model"], hardware=pc, prefill_hardware=pc, decode_hardware=dc,
                               gpus=MAX_GPUS, precision=rec["precision"], kv_precision=kv_precision, engine=ENGINE,
                               tps=(1,), slo_ttft_p99_s=ttft_s, slo_tpot_p99_s=tpot_s)
            rows.append(_pair(spec, pools[pc], pools[dc], mean_out, usd_per_gpu_hour))
    ranked = sorted((r for r in rows if r["skipped"] is None), key=lambda r: -r["rps_per_gpu"])
    skipped = [r for r in rows if r["skipped"] is not None]
    for i, r in enumerate(ranked, 1):
        r["rank"] = i
    aggs = [r for r in ranked if r["mode"] == "aggregated"]
    best_agg = aggs[0] if aggs else None
    for r in ranked:
        r["vs_best_aggregated"] = None if best_agg is None else r["rps_per_gpu"] / best_agg["rps_per_gpu"] - 1
    pairs = [r for r in ranked if r["mode"] == "disaggregated"]
    top = pairs[0] if pairs else None
    command = None
    if top is not None:
        agg_chip = best_agg["prefill_hardware"] if best_agg else top["decode_hardware"]
        command = _command(rec, kv_precision, top, agg_chip, mean_in, mean_out, length_dist, ttft_s, tpot_s,
                           usd_per_gpu_hour)
    return {"deployment": {"model": rec["model"], "precision": rec["precision"], "kv_precision": kv_precision,
                           "engine": ENGINE, "tp": 1},
            "mean_input_tokens": mean_in, "mean_output_tokens": mean_out, "tpot_s": tpot_s,
            "usd_per_gpu_hour": usd_per_gpu_hour, "max_gpus": MAX_GPUS, "method": SCREEN,
            "pools": list(pools.values()), "rows": ranked + skipped,
            "best_pair": top, "best_aggregated": best_agg, "compare_command": command}
