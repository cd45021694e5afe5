"""Speed of the serving simulator: simulated seconds per wall second, and events per second.

Two targets of the serving issue, each 10 simulated minutes of Poisson arrivals with Azure 2023
conversation lengths: Llama-3.1-70B on 8 H100 (TP8) at 20 requests/s, and 8 replicas of
Llama-3.1-8B (one H100 each) at 200 requests/s. Prints one line per scenario; the last line is one
JSON object.

    python benchmarks/serve_speed.py [--duration 600]
"""

from __future__ import annotations

import argparse
import json

from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run

SCENARIOS = (
    ("llama-3.1-70b TP8 on 8x H100, 20 req/s",
     Deployment(model="llama-3.1-70b", hardware="h100-sxm", gpus=8, tp=8), 20.0),
    ("8 replicas of llama-3.1-8b on 8x H100, 200 req/s",
     Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8), 200.0),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=600.0, help="simulated seconds of arrivals")
    args = ap.parse_args()
    rows = []
    for label, d, rate in SCENARIOS:
        w = WorkloadSpec(rate=rate, duration_s=args.duration, length_dist="azure-conv", seed=0)
        built = build(d)
        _, rep = run(d, w, Slo(), built=built, overload=False)
        row = {"scenario": label, "requests": rep["completed"], "simulated_s": rep["simulated_s"],
               "wall_s": rep["wall_s"], "speedup_vs_real_time": rep["speedup_vs_real_time"],
               "events": rep["events"], "events_per_s": rep["events"] / rep["wall_s"],
               "ttft_mean_s": rep["ttft_s"]["mean"], "tpot_mean_s": rep["tpot_s"]["mean"]}
        rows.append(row)
        print(f"{label}: {row['requests']} requests, {row['simulated_s']:.0f} s simulated in {row['wall_s']:.2f} s "
              f"wall = {row['speedup_vs_real_time']:,.0f}x real time, {row['events_per_s']:,.0f} events/s "
              f"(TTFT mean {row['ttft_mean_s']:.3g} s, TPOT mean {row['tpot_mean_s']:.3g} s)", flush=True)
    print(json.dumps({"speedup_vs_real_time": min(r["speedup_vs_real_time"] for r in rows),
                      "events_per_s": min(r["events_per_s"] for r in rows), "scenarios": rows}))


if __name__ == "__main__":
    main()
