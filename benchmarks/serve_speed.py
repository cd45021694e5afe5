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

Three cases run on the Python engine beside them: the KV-tiers case (8 replicas of Llama-3.1-8B with
DRAM + NVMe tiers replaying the Mooncake conversation trace), the disaggregated case (Llama-3.1-70B,
prefill TP4 + decode TP4) and the issue's disaggregated deployment with tiers (the same 8 H100s and
trace as the tiers case, split 4 prefill instances with DRAM + NVMe tiers and KV-aware routing + 4
decode instances; the same again with decode prefix reuse and a host-DRAM tier on the decode pool, the
decode side pulling only the prompt blocks it holds neither in GPU memory nor in that tier;
`--only-disaggregated` runs the disaggregated cases alone).

The aggregated runs go through the compiled engine (`coscale.serve.compiled`, numba) when it covers
them (it does for every run here except the KV-tiers and disaggregated cases, which stay on Python);
`--engine python` runs them on the Python engine for comparison. `wall_s` is what `run()` reports:
the simulation itself (for the compiled engine: turning the workload into arrays, the kernel, and the
result arrays), not workload generation nor the report; `end_to_end_s` is the whole `run()` call.
The kernel's first call in a process either compiles it (once per machine; numba caches it beside
the sources) or loads it from that cache: the benchmark pays it in a warm-up and prints it
(`compiled_first_call_s`, and whether it compiled), so the figures above exclude it.

    python benchmarks/serve_speed.py [--duration 600] [--no-sub-capacity] [--engine auto|python]
                                     [--only-tiered | --only-disaggregated]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

from coscale.serve.capacity_search import queue_growth
from coscale.serve.disagg.deployment import DisaggDeployment
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo, request_arrays
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run, saturated_rate
from coscale.serve.tiers.config import OffloadConfig
from coscale.serve.traces import shipped_trace

SCENARIOS = (
    ("llama-3.1-70b TP8 on 8x H100", Deployment(model="llama-3.1-70b", hardware="h100-sxm", gpus=8, tp=8), 20.0),
    ("8 replicas of llama-3.1-8b on 8x H100", Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8), 200.0),
)
SUB_CAPACITY_SHARE = 0.8
# A separate case (the KV-tiers work): 8 replicas of Llama-3.1-8B with host DRAM + NVMe KV tiers and the
# KV-aware router, replaying the Mooncake conversation trace (long prompts sharing prefixes across turns);
# the same replay without tiers and with least-loaded routing beside it.
TIERED = ("8 replicas of llama-3.1-8b, KV tiers dram+nvme, kv_aware router",
          Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8, router="kv_aware",
                     kv_offload=OffloadConfig(tiers=("dram", "nvme"))))
TIERED_TRACE = "mooncake_fast25_conversation_head3600.jsonl"


def capacity_rps(d: Deployment, w: WorkloadSpec) -> float:
    """Saturated completion rate of the deployment: one replica's, times the replicas."""
    built = build(d)
    one = replace(d, gpus=d.tp * d.pp)
    return saturated_rate(build(one, cost=built.cost), w, d.router) * built.replicas


def warm_up() -> dict[str, object]:
    """The compiled kernel's first call in this process: a compile (first use on this machine) or a
    load from numba's cache; timed on a tiny run."""
    from coscale.serve.compiled.kernel import simulate_kernel

    d = Deployment(model="llama-3.1-8b", hardware="h100-sxm", max_num_seqs=4, max_batched_tokens=256)
    built = build(d)
    t = time.perf_counter()
    res, _ = run(d, WorkloadSpec(rate=1.0, num_requests=3, input_len=64, output_len=4), Slo(), built=built,
                 overload=False)
    first = time.perf_counter() - t
    compiled = bool(sum(simulate_kernel.stats.cache_misses.values()))
    out = {"compiled_first_call_s": first, "compiled_at_first_call": compiled, "engine": res.engine}
    print(f"compiled engine first call: {first:.2f} s ({'compiled' if compiled else 'loaded from the cache'})",
          flush=True)
    return out


def measure(label: str, d: Deployment, rate: float, duration: float, engine: str = "auto") -> dict[str, object]:
    w = WorkloadSpec(rate=rate, duration_s=duration, length_dist="azure-conv", seed=0)
    built = build(d)
    t = time.perf_counter()
    res, rep = run(d, w, Slo(), built=built, overload=False, engine=engine)
    end_to_end = time.perf_counter() - t
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
           "queue_growth": queue_growth(res), "engine": res.engine, "end_to_end_s": end_to_end,
           "speedup_end_to_end": rep["simulated_s"] / end_to_end}
    print(f"{row['scenario']}: {row['requests']} requests (mean {row['mean_input_tokens']:.0f} in / "
          f"{row['mean_output_tokens']:.0f} out tokens), {row['simulated_s']:.0f} s simulated "
          f"({last_arrival:.0f} s of arrivals) in {row['wall_s']:.2f} s wall = "
          f"{row['speedup_vs_real_time']:,.0f}x real time ({row['speedup_arrival_window']:,.0f}x over the arrivals), "
          f"{row['events_per_s']:,.0f} events/s (TTFT mean {row['ttft_mean_s']:.3g} s, TPOT mean "
          f"{row['tpot_mean_s']:.3g} s, queueing delay growth {row['queue_growth']:+.1%} of elapsed time; "
          f"{row['engine']} engine, {end_to_end:.2f} s end to end with workload generation and report = "
          f"{row['speedup_end_to_end']:,.0f}x)", flush=True)
    return row


def measure_tiered(duration: float) -> list[dict[str, object]]:
    """The tiered case and its untiered, least-loaded twin on the first `duration` s of the trace."""
    label, d = TIERED
    w = WorkloadSpec(trace=str(shipped_trace(TIERED_TRACE)), duration_s=duration)
    rows = []
    for name, dep in ((label, d), ("the same without tiers, least_loaded", replace(d, kv_offload=None,
                                                                                    router="least_loaded"))):
        _, rep = run(dep, w, Slo(), built=build(dep), overload=False)
        kt = rep.get("kv_tiers") or {}
        row = {"scenario": f"{name}, Mooncake conversation trace {duration:g} s", "requests": rep["completed"],
               "simulated_s": rep["simulated_s"], "wall_s": rep["wall_s"],
               "speedup_vs_real_time": rep["speedup_vs_real_time"], "events_per_s": rep["events"] / rep["wall_s"],
               "ttft_mean_s": rep["ttft_s"]["mean"], "prefix_hit_rate": rep["prefix_hit_rate"],
               "tier_load_rate": kt.get("tier_load_rate", 0.0)}
        print(f"{row['scenario']}: {row['requests']} requests, {row['simulated_s']:.0f} s simulated in "
              f"{row['wall_s']:.2f} s wall = {row['speedup_vs_real_time']:,.0f}x real time (TTFT mean "
              f"{row['ttft_mean_s']:.3g} s, prefix hits {row['prefix_hit_rate']:.1%} of prompt tokens; loaded "
              f"from the tiers {row['tier_load_rate']:.1%} of prompt blocks)", flush=True)
        rows.append(row)
    return rows
DISAGG = ("llama-3.1-70b, prefill TP4 on 4x H100 + decode TP4 on 4x H100, KV over InfiniBand",
          DisaggDeployment(prefill=Deployment(model="llama-3.1-70b", hardware="h100-sxm", gpus=4, tp=4),
                           decode=Deployment(model="llama-3.1-70b", hardware="h100-sxm", gpus=4, tp=4),
                           kv_link="infiniband"), 4.0)


# The case: ONE disaggregated deployment WITH KV tiers. The tiered case's 8 H100s and trace, split
# into a prefill pool of 4 Llama-3.1-8B instances with host DRAM + NVMe tiers (prefix reuse on the prefill
# side) and the KV-aware router, and a decode pool of 4 instances, the KV over InfiniBand.
DISAGG_TIERED = ("llama-3.1-8b, prefill 4x H100 with KV tiers dram+nvme and kv_aware router + decode 4x H100, "
                 "KV over InfiniBand",
                 DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=4,
                                                     router="kv_aware",
                                                     kv_offload=OffloadConfig(tiers=("dram", "nvme"))),
                                  decode=Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=4),
                                  kv_link="infiniband"))


def measure_disagg_tiered(duration: float, decode_prefix_reuse: bool = False) -> dict[str, object]:
    """The disaggregated deployment with KV tiers on the first `duration` s of the Mooncake conversation trace
    (with `decode_prefix_reuse`: the decode side pulls only the prompt blocks it does not hold in GPU memory
    or in a host-DRAM tier of its own)."""
    label, d = DISAGG_TIERED
    if decode_prefix_reuse:
        label = label + ", decode prefix reuse with a DRAM tier on the decode pool"
        d = replace(d, decode_prefix_reuse=True, decode=replace(d.decode, kv_offload=OffloadConfig(tiers=("dram",))))
    w = WorkloadSpec(trace=str(shipped_trace(TIERED_TRACE)), duration_s=duration)
    _, rep = run_disagg(d, w, Slo(), overload=False)
    kt = rep.get("kv_tiers") or {}
    reuse = rep["transfer"]["decode_prefix_reuse"]
    row = {"scenario": f"{label}, Mooncake conversation trace {duration:g} s", "requests": rep["completed"],
           "simulated_s": rep["simulated_s"], "wall_s": rep["wall_s"],
           "speedup_vs_real_time": rep["speedup_vs_real_time"], "events": rep["events"],
           "events_per_s": rep["events"] / rep["wall_s"], "ttft_mean_s": rep["ttft_s"]["mean"],
           "ttft_p99_s": rep["ttft_s"]["p99"], "tpot_mean_s": rep["tpot_s"]["mean"],
           "prefix_hit_rate": rep["prefix_hit_rate"], "tier_load_rate": kt.get("tier_load_rate", 0.0),
           "kv_transfer_mean_s": rep["transfer"]["time_s"]["mean"],
           "kv_bytes_total": rep["transfer"]["bytes_total"], "kv_share_not_sent": reuse["share_of_bytes_saved"],
           "prefill_utilization": rep["prefill"]["utilization"],
           "request_throughput_rps": rep["request_throughput_rps"]}
    print(f"{row['scenario']}: {row['requests']} requests, {row['simulated_s']:.0f} s simulated in "
          f"{row['wall_s']:.2f} s wall = {row['speedup_vs_real_time']:,.0f}x real time, "
          f"{row['events_per_s']:,.0f} events/s (TTFT mean {row['ttft_mean_s']:.3g} s, p99 {row['ttft_p99_s']:.3g} s, "
          f"TPOT mean {row['tpot_mean_s']:.3g} s, prefix hits {row['prefix_hit_rate']:.1%} of prompt tokens; loaded "
          f"from the tiers {row['tier_load_rate']:.1%} of prompt blocks; prefill pool busy "
          f"{row['prefill_utilization']:.0%}; KV sent {row['kv_bytes_total'] / 1e9:,.0f} GB, "
          f"{row['kv_share_not_sent']:.1%} not sent)", flush=True)
    return row


def measure_disaggregated(duration: float) -> dict[str, object]:
    """The disaggregated deployment (a separate case of this benchmark): one prefill and one decode
    instance at a rate they sustain."""
    label, d, rate = DISAGG
    w = WorkloadSpec(rate=rate, duration_s=duration, length_dist="azure-conv", seed=0)
    _, rep = run_disagg(d, w, Slo(), overload=False)
    row = {"scenario": f"{label}, {rate:.4g} req/s", "rate_rps": rate, "requests": rep["completed"],
           "simulated_s": rep["simulated_s"], "wall_s": rep["wall_s"],
           "speedup_vs_real_time": rep["speedup_vs_real_time"], "events": rep["events"],
           "events_per_s": rep["events"] / rep["wall_s"], "ttft_mean_s": rep["ttft_s"]["mean"],
           "tpot_mean_s": rep["tpot_s"]["mean"], "kv_transfer_mean_s": rep["transfer"]["time_s"]["mean"],
           "prefill_utilization": rep["prefill"]["utilization"],
           "request_throughput_rps": rep["request_throughput_rps"]}
    print(f"{row['scenario']}: {row['requests']} requests, {row['simulated_s']:.0f} s simulated in "
          f"{row['wall_s']:.2f} s wall = {row['speedup_vs_real_time']:,.0f}x real time, "
          f"{row['events_per_s']:,.0f} events/s (TTFT mean {row['ttft_mean_s']:.3g} s, TPOT mean "
          f"{row['tpot_mean_s']:.3g} s, KV transfer mean "
          f"{row['kv_transfer_mean_s'] * 1e3:.3g} ms)", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=600.0, help="simulated seconds of arrivals")
    ap.add_argument("--no-sub-capacity", action="store_true", help="only the issue's rates")
    ap.add_argument("--only-tiered", action="store_true", help="run only the KV-tiers case")
    ap.add_argument("--no-disaggregated", action="store_true", help="skip the disaggregated case")
    ap.add_argument("--no-tiered", action="store_true", help="skip the KV-tiers case")
    ap.add_argument("--only-disaggregated", action="store_true",
                    help="run only the disaggregated cases (without and with KV tiers)")
    ap.add_argument("--engine", default="auto", choices=("auto", "python"),
                    help="auto: the compiled engine where it applies; python: the Python engine throughout")
    args = ap.parse_args()
    if args.only_tiered:
        print(json.dumps({"tiered": measure_tiered(args.duration), "load_average": os.getloadavg()}))
        return
    if args.only_disaggregated:
        print(json.dumps({"disaggregated": measure_disaggregated(args.duration),
                          "disaggregated_tiered": measure_disagg_tiered(args.duration),
                          "disaggregated_tiered_decode_reuse": measure_disagg_tiered(args.duration, True),
                          "load_average": os.getloadavg()}))
        return
    rows, subs = [], []
    warm = warm_up() if args.engine == "auto" else {}
    for label, d, rate in SCENARIOS:
        cap = capacity_rps(d, WorkloadSpec(rate=rate, duration_s=args.duration, length_dist="azure-conv", seed=0))
        over = rate > cap
        print(f"{label}: saturated capacity {cap:.3g} req/s; the issue's {rate:g} req/s is "
              + ("BEYOND capacity (queues grow for the whole run)" if over else "within capacity"), flush=True)
        row = measure(label, d, rate, args.duration, args.engine)
        row.update(capacity_rps=cap, overloaded=over)
        rows.append(row)
        if not args.no_sub_capacity:
            sub = measure(label, d, SUB_CAPACITY_SHARE * cap, args.duration, args.engine)
            sub.update(capacity_rps=cap, overloaded=False, share_of_capacity=SUB_CAPACITY_SHARE)
            subs.append(sub)
    out: dict[str, object] = {"speedup_vs_real_time": min(r["speedup_vs_real_time"] for r in rows),
                              "events_per_s": min(r["events_per_s"] for r in rows),
                              "speedup_arrival_window": min(r["speedup_arrival_window"] for r in rows),
                              "speedup_end_to_end": min(r["speedup_end_to_end"] for r in rows),
                              "load_average": os.getloadavg(), "cpus": os.cpu_count(), "engine": args.engine, **warm,
                              "scenarios": rows}
    if not args.no_tiered:
        out["tiered"] = measure_tiered(args.duration)
    if subs:
        out["sub_capacity"] = subs
        out["speedup_vs_real_time_sub_capacity"] = min(r["speedup_vs_real_time"] for r in subs)
    if not args.no_disaggregated:
        out["disaggregated"] = measure_disaggregated(args.duration)
        out["disaggregated_tiered"] = measure_disagg_tiered(args.duration)
        out["disaggregated_tiered_decode_reuse"] = measure_disagg_tiered(args.duration, True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
