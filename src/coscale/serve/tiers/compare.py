"""The same run without offload, and how the tiers changed TTFT and throughput against it."""

from __future__ import annotations

from dataclasses import replace

from coscale.serve.engine import Overloaded
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec, run
from coscale.serve.tiers.report import change_vs


def versus_no_offload(d: Deployment, w: WorkloadSpec, slo: Slo, rep: dict[str, object]) -> dict[str, object]:
    """`{"no_offload": headline figures, "change": relative changes}` (+ = the tiered run is larger)."""
    try:
        _, base = run(replace(d, kv_offload=None), w, slo)
    except Overloaded as e:
        return {"no_offload": {"overloaded": True, "capacity_rps": e.capacity_rps}, "change": None}
    head = {k: base[k] for k in ("ttft_s", "tpot_s", "throughput_tok_s", "request_throughput_rps",
                                 "prefix_hit_rate")}
    return {"no_offload": head, "change": change_vs(base, rep)}
