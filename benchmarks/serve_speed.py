"""Speed of the serving simulator: simulated seconds per wall second, and events per second.

Two targets of the serving issue, each 10 simulated minutes of Poisson arrivals with Azure 2023
conversation lengths: Llama-3.1-70B on 8 H100 (TP8) at 20 requests/s, and 8 replicas of
Llama-3.1-8B (one H100 each) at 200 requests/s. Under this cost model both rates are beyond the
deployments' capacity (queues grow for the whole run), so the benchmark first measures the saturated
completion rate (`scenario.saturated_rate`, the figure the overload check reports: a closed loop with
every batch slot busy; one replica's rate times the replicas, as the least-loaded router splits the
load evenly), says whether the issue's rate exceeds it, and also runs each deployment at 80 % of it.
Prints one line per run with the workload it ran (requests, mean lengths), whether it is within
capacity, and how fast the queueing delay grows (~0 within capacity, 1 - capacity/rate beyond it).
An overloaded run drains its queue after the last arrival, simulated time that comes cheaply (no
arrivals cut the decode runs), so `speedup_arrival_window` counts only the arrival window. The last
line is one JSON object (`speedup_vs_real_time`, `speedup_arrival_window` and `events_per_s` are the
minimum over the issue's settings; `sub_capacity` holds the 80 % runs; `load_average` is the machine's
1/5/15-minute load when it finished).

    python benchmarks/serve_speed.py [--duration 600] [--no-sub-capacity]
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace

from coscale.serve.capacity_search import queue_growth
from coscale.serve.metrics import Slo, request_arrays
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run, saturated_rate

SCENARIOS = (
    ("llama-3.1-70b TP8 on 8x H100", Deployment(model="llama-3.1-70b", hardware="h100-sxm", gpus=8, tp=8), 20.0),
    ("8 replicas of llama-3.1-8b on 8x H100", Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8), 200.0),
)
SUB_CAPACITY_SHARE = 0.8


def capacity_rps(d: Deployment, w: WorkloadSpec) -> float:
    """Saturated completion rate of the deployment: one replica's, times the replicas."""
    built = build(d)
    one = replace(d, gpus=d.tp * d.pp)
    return saturated_rate(build(one, cost=built.cost), w, d.router) * built.replicas


def measure(label: str, d: Deployment, rate: float, duration: float) -> dict[str, object]:
    w = WorkloadSpec(rate=rate, duration_s=duration, length_dist="azure-conv", seed=0)
    res, rep = run(d, w, Slo(), built=build(d), overload=False)
    r = request_arrays(res)
    last_arrival = float(r.arrival_s.max())
    row = {"scenario": f"{label}, {rate:.4g} req/s", "rate_rps": rate, "requests": rep["completed"],
           "mean_input_tokens": float(r.input_tokens.mean()), "mean_output_tokens": float(r.output_tokens.mean()),
           "simulated_s": rep["simulated_s"], "last_arrival_s": last_arrival, "wall_s": rep["wall_s"],
           "speedup_vs_real_time": rep["speedup_vs_real_time"],
           # conservative: only the arrival window counts (an overloaded run drains its queue afterwards)
           "speedup_arrival_window": last_arrival / rep["wall_s"], "events": rep["events"],
           "events_per_s": rep["events"] / rep["wall_s"], "ttft_mean_s": rep["ttft_s"]["mean"],
           "tpot_mean_s": rep["tpot_s"]["mean"], "request_throughput_rps": rep["request_throughput_rps"],
           "queue_growth": queue_growth(res)}
    print(f"{row['scenario']}: {row['requests']} requests (mean {row['mean_input_tokens']:.0f} in / "
          f"{row['mean_output_tokens']:.0f} out tokens), {row['simulated_s']:.0f} s simulated "
          f"({last_arrival:.0f} s of arrivals) in {row['wall_s']:.2f} s wall = "
          f"{row['speedup_vs_real_time']:,.0f}x real time ({row['speedup_arrival_window']:,.0f}x over the arrivals), "
          f"{row['events_per_s']:,.0f} events/s (TTFT mean {row['ttft_mean_s']:.3g} s, TPOT mean "
          f"{row['tpot_mean_s']:.3g} s, queueing delay growth {row['queue_growth']:+.1%} of elapsed time)", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=600.0, help="simulated seconds of arrivals")
    ap.add_argument("--no-sub-capacity", action="store_true", help="only the issue's rates")
    args = ap.parse_args()
    rows, subs = [], []
    for label, d, rate in SCENARIOS:
        cap = capacity_rps(d, WorkloadSpec(rate=rate, duration_s=args.duration, length_dist="azure-conv", seed=0))
        over = rate > cap
        print(f"{label}: saturated capacity {cap:.3g} req/s; the issue's {rate:g} req/s is "
              + ("BEYOND capacity (queues grow for the whole run)" if over else "within capacity"), flush=True)
        row = measure(label, d, rate, args.duration)
        row.update(capacity_rps=cap, overloaded=over)
        rows.append(row)
        if not args.no_sub_capacity:
            sub = measure(label, d, SUB_CAPACITY_SHARE * cap, args.duration)
            sub.update(capacity_rps=cap, overloaded=False, share_of_capacity=SUB_CAPACITY_SHARE)
            subs.append(sub)
    out: dict[str, object] = {"speedup_vs_real_time": min(r["speedup_vs_real_time"] for r in rows),
                              "events_per_s": min(r["events_per_s"] for r in rows),
                              "speedup_arrival_window": min(r["speedup_arrival_window"] for r in rows),
                              "load_average": os.getloadavg(), "cpus": os.cpu_count(), "scenarios": rows}
    if subs:
        out["sub_capacity"] = subs
        out["speedup_vs_real_time_sub_capacity"] = min(r["speedup_vs_real_time"] for r in subs)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
