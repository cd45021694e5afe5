"""The serving section: the request-level simulator (`coscale.serve`) run on the recommended deployment —
the latency-throughput curve over arrival rates (the rows `coscale serve sweep --json` prints for the same
rates) and the SLO knee (`capacity_search.max_rate`, MLPerf Server semantics: the highest rate whose p99
TTFT and TPOT meet the scenario's SLO)."""

from __future__ import annotations

import math
from typing import Any

from coscale.errors import CoscaleError
from coscale.serve.capacity_search import evaluate, max_rate
from coscale.serve.scenario import Deployment, WorkloadSpec, build, saturated_rate

RATE_FRACTIONS = (0.25, 0.5, 0.75, 0.9, 1.0)  # of the saturated rate: the curve's points
NUM_REQUESTS = 1000  # requests per simulated rate (a report setting; `coscale serve sweep --num-requests`)
KNEE_RUNS = 5  # bisection runs for the SLO knee
KNEE_TOL = 0.05  # relative rate tolerance of the knee


def serving_section(rec: dict[str, Any], kv_precision: str | None, input_len: int, output_len: int,
                    ttft_s: float, tpot_s: float, length_dist: str) -> dict[str, Any]:
    d = Deployment(model=rec["model"], hardware=rec["hardware"], precision=rec["precision"],
                   kv_precision=kv_precision)
    w = WorkloadSpec(rate=1.0, input_len=input_len, output_len=output_len, length_dist=length_dist,
                     num_requests=NUM_REQUESTS)
    built = build(d)
    capacity = saturated_rate(built, w, d.router)
    rates = [round(capacity * f, 3) for f in RATE_FRACTIONS]
    points = []
    for x in rates:
        p = evaluate(d, w, built, x, math.inf, math.inf)
        points.append({"rate_rps": x, "overloaded": p.report is None, "capacity_rps": p.capacity_rps,
                       **(p.report or {})})
    try:
        knee, tried = max_rate(d, w, built, ttft_s, tpot_s, start_rps=capacity, rel_tol=KNEE_TOL,
                               max_runs=KNEE_RUNS)
        # a finite run above the saturated rate only delays its queue: past saturation the SLO does not bind
        capped = knee.rate >= capacity
        knee_out: dict[str, Any] | None = {"rate_rps": min(knee.rate, capacity), "capped_at_saturation": capped,
                                           "runs": len(tried),
                                           "throughput_tok_s": (knee.report or {}).get("throughput_tok_s"),
                                           "ttft_p99_s": (knee.report or {}).get("ttft_s", {}).get("p99"),
                                           "tpot_p99_s": (knee.report or {}).get("tpot_s", {}).get("p99")}
        knee_note = ""
    except CoscaleError as exc:
        knee_out, knee_note = None, str(exc)
    return {"deployment": {"model": d.model, "hardware": d.hardware, "precision": d.precision,
                           "kv_precision": kv_precision, "engine": d.engine, "router": d.router},
            "workload": {"input_len": input_len, "output_len": output_len, "length_dist": length_dist,
                         "num_requests": NUM_REQUESTS, "arrival": w.arrival, "seed": w.seed},
            "saturated_rate_rps": capacity, "points": points, "slo_p99": {"ttft_s": ttft_s, "tpot_s": tpot_s},
            "knee": knee_out, "knee_note": knee_note,
            "disaggregated": ("this section simulates aggregated replicas; prefill and decode on separate chips "
                              "are screened in the 'disaggregated' section and measured request by request "
                              "by `coscale serve compare` (or `coscale serve simulate --mode disaggregated`)")}
