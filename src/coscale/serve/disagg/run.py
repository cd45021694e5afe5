"""A disaggregated scenario run and its report: the aggregated metrics plus KV transfer and per-pool figures."""

from __future__ import annotations

import numpy as np

from coscale.serve.disagg.deployment import DisaggBuilt, DisaggDeployment, build_disagg
from coscale.serve.disagg.engine import DisaggResult, simulate_disagg
from coscale.serve.metrics import Slo, report, summary
from coscale.serve.replica import Replica
from coscale.serve.scenario import DEFAULT_OVERLOAD_WAIT_S, Built, WorkloadSpec, make_workload, router_config
from coscale.serve.tiers.report import tier_report


def run_disagg(d: DisaggDeployment, w: WorkloadSpec, slo: Slo, built: DisaggBuilt | None = None,
               overload: bool = True, progress=None, usd_per_gpu_hour: float | None = None,
               track_occupancy: bool = False) -> tuple[DisaggResult, dict[str, object]]:
    b = built or build_disagg(d)
    wl = make_workload(w, b.prefill.model)
    res = simulate_disagg(b, wl, router_config(d.prefill),
                          overload_wait_s=DEFAULT_OVERLOAD_WAIT_S if (overload and w.rate is not None) else None,
                          track_occupancy=track_occupancy, progress=progress)
    rep = disagg_report(res, b, slo, usd_per_gpu_hour)
    if d.prefill.admission != "none":  # admission control at the prefill router, as aggregated runs report it
        rep["rejected"] = len(res.sim.rejected)
        rep["admitted_share"] = rep["completed"] / (rep["completed"] + len(res.sim.rejected))
    return res, rep


def _span(res: DisaggResult) -> float:
    seqs = res.sim.sequences
    if not seqs:
        return 1e-12
    return max(max(s.finish_s for s in seqs) - min(s.req.arrival_s for s in seqs), 1e-12)


def _window(res: DisaggResult) -> tuple[float, float]:
    """First to last arrival: the stretch of the run that carries the offered load."""
    arr = [s.req.arrival_s for s in res.sim.sequences]
    return (min(arr), max(arr)) if arr else (0.0, 0.0)


def _pool(reps: tuple[Replica, ...], b: Built, window: tuple[float, float]) -> dict[str, object]:
    busy, kv, batch = [], [], []
    t0, t1 = window
    for r in reps:
        lg = r.log.arrays()
        dur = lg["end_s"] - lg["start_s"]
        inside = np.clip(lg["end_s"], t0, t1) - np.clip(lg["start_s"], t0, t1)
        busy.append(float(inside.sum()) / (t1 - t0) if t1 > t0 else float("nan"))
        batch.append(float(np.sum(lg["batch_seqs"] * dur) / dur.sum()) if dur.sum() > 0 else 0.0)
        kv.append(float(np.sum(lg["kv_blocks"] * dur) / dur.sum() / r.pool.num_blocks) if dur.sum() > 0 else 0.0)
    return {"hardware": b.system.hardware.id, "gpus": b.parallel.gpus, "tp": b.parallel.tp, "pp": b.parallel.pp,
            "ep": b.parallel.ep, "engine": b.preset.name, "instances": b.replicas, "num_gpu_blocks": b.num_blocks,
            "block_size": b.block_size, "max_num_seqs": b.sched.max_num_seqs,
            "max_batched_tokens": b.sched.max_batched_tokens, "chunked_prefill": b.sched.chunked_prefill,
            # share of the arrival window an instance spends computing
            "utilization": float(np.mean(busy)) if busy else 0.0,
            "kv_utilization_mean": float(np.mean(kv)) if kv else 0.0,
            "batch_seqs_mean": float(np.mean(batch)) if batch else 0.0,  # time-weighted, while computing
            "preemptions": int(sum(r.preemptions for r in reps))}


def _reuse(res: DisaggResult, b: DisaggBuilt, sent: float) -> dict[str, object]:
    """Prompt tokens the decode side had cached and did not pull, and the link bytes that saved
    (`sent`: the bytes that crossed)."""
    reused = res.decode_reused_tokens
    prompt = {s.req.rid: s.req.input_tokens for s in res.sim.sequences}
    saved = sum(b.kv_bytes(prompt[rid]) - b.kv_bytes(prompt[rid] - n) for rid, n in reused.items())
    return {"enabled": b.decode_prefix_reuse, "requests_with_hit": len(reused), "tokens_reused": sum(reused.values()),
            "bytes_saved": saved, "share_of_bytes_saved": saved / (saved + sent) if saved + sent > 0 else 0.0}


def disagg_report(res: DisaggResult, b: DisaggBuilt, slo: Slo,
                  usd_per_gpu_hour: float | None = None) -> dict[str, object]:
    out = report(res.sim, slo, usd_per_gpu_hour=usd_per_gpu_hour, gpus=b.gpus,
                 idle_w=[b.prefill.idle_w_per_replica] * len(res.prefill)
                 + [b.decode.idle_w_per_replica] * len(res.decode))
    span = _span(res)
    tr = res.transfers
    nbytes = np.array([t.bytes for t in tr])
    sent = float(nbytes.sum()) if len(tr) else 0.0
    dur = np.array([t.finish_s - t.start_s for t in tr])
    exposed = np.array([t.exposed_s for t in tr])
    waits = np.array(list(res.decode_wait_s.values()))
    tiers = tier_report([r.tiers for r in res.prefill])  # prefix reuse from the prefill pool's tiers
    decode_tiers = tier_report([r.tiers for r in res.decode])  # and, with decode prefix reuse, the decode pool's
    return {
        "mode": "disaggregated", "gpus": b.gpus,
        "prefill": _pool(res.prefill, b.prefill, _window(res)),
        "decode": _pool(res.decode, b.decode, _window(res)),
        "kv_link": b.path.as_dict(),
        "transfer": {
            "requests": len(tr), "bytes_total": sent,
            "bytes_per_request": summary(nbytes), "time_s": summary(dur), "exposed_after_prefill_s": summary(exposed),
            # share of time each prefill instance's link carries a transfer
            "link_utilization": res.link_busy_s / span / max(len(res.prefill), 1),
            "decode_prefix_reuse": _reuse(res, b, sent),
        },
        "decode_admission_wait_s": summary(waits),
        # prefill end to the grant of the decode blocks the KV is written into (the KV waits on the prefill side)
        "kv_wait_for_decode_blocks_s": summary(np.array(list(res.block_wait_s.values()))),
        **out,
        **({"kv_tiers": tiers} if tiers is not None else {}),
        **({"kv_tiers_decode": decode_tiers} if decode_tiers is not None else {}),
    }
