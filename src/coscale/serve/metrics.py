"""Serving metrics as pure functions over per-request arrays and the engine's step log.

TTFT = first token - arrival; TPOT = (last token - first token) / (output - 1), the first token
excluded (MLPerf, vLLM benchmark); ITL = every gap between consecutive tokens of a request;
E2E = last token - arrival; queueing = first scheduled - arrival. Percentiles use the
inverted-CDF rule (the smallest value with at least p of the weight at or below it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coscale.serve.engine import SimResult, itl_samples
from coscale.serve.records import RequestArrays

PERCENTILES = (50, 90, 95, 99)


def request_arrays(result: SimResult) -> RequestArrays:
    if result.records is not None:  # the compiled engine's results come as arrays
        return result.records
    seqs = result.sequences

    def col(f, dtype=float) -> np.ndarray:
        return np.fromiter((f(s) for s in seqs), dtype=dtype, count=len(seqs))

    return RequestArrays(
        arrival_s=col(lambda s: s.req.arrival_s), scheduled_s=col(lambda s: s.scheduled_s),
        first_token_s=col(lambda s: s.first_token_s), finish_s=col(lambda s: s.finish_s),
        input_tokens=col(lambda s: s.req.input_tokens, np.int64),
        output_tokens=col(lambda s: s.req.output_tokens, np.int64),
        hit_tokens=col(lambda s: s.hit_tokens, np.int64), prefilled=col(lambda s: s.prefilled, np.int64),
        decoded=col(lambda s: s.decoded, np.int64), preemptions=col(lambda s: s.preemptions, np.int64),
        recomputed=col(lambda s: s.discarded - s.rehit_tokens, np.int64))


def weighted_percentile(values: np.ndarray, weights: np.ndarray, p: float) -> float:
    if values.size == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    idx = int(np.searchsorted(cum, p / 100 * cum[-1], side="left"))
    return float(values[order][min(idx, len(order) - 1)])


def summary(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """mean, p50, p90, p95, p99 (NaN when empty)."""
    w = np.ones_like(values, dtype=float) if weights is None else weights
    if values.size == 0:
        return {"mean": float("nan"), **{f"p{p}": float("nan") for p in PERCENTILES}}
    out = {"mean": float(np.sum(values * w) / np.sum(w))}
    out.update({f"p{p}": weighted_percentile(values, w, p) for p in PERCENTILES})
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class Slo:
    ttft_s: float | None = None
    tpot_s: float | None = None


def latency_summaries(r: RequestArrays) -> dict[str, dict[str, float]]:
    """The per-request latency distributions of a report: TTFT, TPOT, E2E and queueing."""
    return {"ttft_s": summary(r.ttft), "tpot_s": summary(r.tpot), "e2e_s": summary(r.e2e), "queue_s": summary(r.queue)}


def slo_met(r: RequestArrays, slo: Slo) -> np.ndarray:
    ok = np.ones(len(r.arrival_s), dtype=bool)
    if slo.ttft_s is not None:
        ok &= r.ttft <= slo.ttft_s
    if slo.tpot_s is not None:
        ok &= ~(r.tpot_all > slo.tpot_s)  # single-token requests have no TPOT to miss
    return ok


def report(result: SimResult, slo: Slo, energy_scale: float = 1.0, usd_per_gpu_hour: float | None = None,
           gpus: int = 1, idle_w: Sequence[float] | None = None) -> dict[str, object]:
    """The `serve simulate --json` object. `energy_scale` turns one instance's step energy into the
    energy of all GPUs of the instance when the cost model reports one GPU. `idle_w`: each replica's
    GPUs' board power between passes; with it the report adds their idle energy over the run (first
    arrival to last completion, the window throughput and cost use) and the mean power per GPU."""
    r = request_arrays(result)
    span = float(r.finish_s.max() - r.arrival_s.min()) if len(r.finish_s) else 0.0
    span = max(span, 1e-12)
    vals, wts = itl_samples(result)
    out_tokens = int(r.output_tokens.sum())
    ok = slo_met(r, slo)
    logs = [rep.log.arrays() for rep in result.replicas]
    kv_util = _kv_utilisation(result, logs)
    energy = float(sum(float(lg["energy_j"].sum()) for lg in logs)) * energy_scale
    prompt = int(r.input_tokens.sum())
    out: dict[str, object] = {
        "completed": len(r.arrival_s),
        **latency_summaries(r), "itl_s": summary(vals, wts),
        "throughput_tok_s": out_tokens / span,
        "input_throughput_tok_s": prompt / span,
        "request_throughput_rps": len(r.arrival_s) / span,
        "goodput_rps": int(ok.sum()) / span,
        "slo_attainment": float(ok.mean()) if len(ok) else float("nan"),
        "preemptions": int(r.preemptions.sum()),
        "recomputed_tokens": int(r.recomputed.sum()),
        "prefix_hit_rate": float(r.hit_tokens.sum() / prompt) if prompt else 0.0,
        "kv_utilization_mean": kv_util,
        "energy_j_per_output_token": energy / out_tokens if out_tokens else float("nan"),
        "simulated_s": result.simulated_s,
        "wall_s": result.wall_s,
        "speedup_vs_real_time": result.simulated_s / result.wall_s if result.wall_s > 0 else float("inf"),
        "events": result.events,
    }
    if idle_w is not None:
        t0, t1 = (float(r.arrival_s.min()), float(r.finish_s.max())) if len(r.finish_s) else (0.0, 0.0)
        idle = idle_energy_j(logs, idle_w, t0, t1)
        out["idle_energy_j_per_output_token"] = idle / out_tokens if out_tokens else float("nan")
        out["power_w_per_gpu_mean"] = (energy + idle) / span / gpus
    if usd_per_gpu_hour is not None:
        out["usd_per_million_output_tokens"] = usd_per_gpu_hour * gpus * span / 3600 / out_tokens * 1e6
    return out


def idle_energy_j(logs: list[dict[str, np.ndarray]], idle_w: Sequence[float], t0: float, t1: float) -> float:
    """Energy the replicas' GPUs draw between their passes over [t0, t1]: idle power times the time no
    pass of theirs runs (a pass's own energy, in its log, already holds the idle floor while it runs)."""
    total = 0.0
    for lg, watts in zip(logs, idle_w, strict=True):
        busy = float(np.sum(np.clip(lg["end_s"], t0, t1) - np.clip(lg["start_s"], t0, t1)))
        total += watts * max(t1 - t0 - busy, 0.0)
    return total


def _kv_utilisation(result: SimResult, logs: list[dict[str, np.ndarray]]) -> float:
    """Time-weighted share of KV blocks in use while a replica computes, averaged over replicas."""
    shares = []
    for rep, lg in zip(result.replicas, logs, strict=True):
        dur = lg["end_s"] - lg["start_s"]
        if dur.sum() > 0:
            shares.append(float(np.sum(lg["kv_blocks"] * dur) / dur.sum() / rep.pool.num_blocks))
    return float(np.mean(shares)) if shares else 0.0
