"""Inference prediction -> one JSON-ready dict (its only JSON shape), or rich tables that say what binds and why."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coscale.cost.phase import BOUND_REASONS
from coscale.predict.inference import InferencePrediction, PhaseTiming
from coscale.report.bands import band_caption, band_text, bands_dict, error_band

GiB = 2**30


def _phase_dict(p: PhaseTiming) -> dict[str, Any]:
    by_bound = p.cost.time_by_bound()
    total = sum(by_bound.values()) or 1.0
    return {
        "time_s": p.time_s,
        "bound": p.cost.bound,
        "bound_reason": BOUND_REASONS[p.cost.bound],
        "time_share_by_bound": {k: v / total for k, v in sorted(by_bound.items())},
        "pipeline_transfer_s": p.pipeline_s,
        "flops_per_gpu": p.cost.flops,
        "operators": [
            {"name": c.op.name, "layer": c.op.layer, "kind": c.op.kind, "count": c.op.count,
             "time_s": c.total_s, "flops": c.op.flops * c.op.count, "bytes": c.op.total_bytes * c.op.count,
             "bound": c.bound, "compute_class": c.op.compute_class,
             "compute_efficiency": round(c.compute_efficiency, 4), "memory_efficiency": c.memory_efficiency}
            for c in p.cost.ops
        ],
    }


def inference_to_dict(r: InferencePrediction) -> dict[str, Any]:
    s = r.scenario
    par = s.parallel
    return {
        "feasible": True,
        "model": s.model.name,
        "hardware": s.system.hardware.id,
        "gpus": par.gpus,
        "parallelism": {"tp": par.tp, "pp": par.pp, "ep": par.ep, "attention_dp": par.attention_dp,
                        "replicas": par.replicas},
        "precision": {"recipe": s.precision.name, "weights": s.precision.weights.name,
                      "activations": s.precision.activations.name, "kv_cache": s.precision.kv_cache.name},
        "input_len": s.request.input_len,
        "output_len": s.request.output_len,
        "batch": r.batch,
        "batch_per_replica_semantics": "concurrent sequences per model instance (continuous batching)",
        "ttft_s": r.ttft_s,
        "ttft_single_request_s": r.ttft_single_s,
        "tpot_s": r.tpot_s,
        "throughput_tok_s": r.throughput_tok_s,
        "throughput_tok_s_per_gpu": r.throughput_tok_s / par.gpus,
        "error_band_80": bands_dict(error_band(s.efficiency.family, "inference", s.model), {
            "ttft_s": (r.ttft_s, "time"), "tpot_s": (r.tpot_s, "time"),
            "throughput_tok_s": (r.throughput_tok_s, "rate")}),
        "memory_per_gpu_bytes": r.memory.total,
        "memory_breakdown_bytes": r.memory.as_dict(),
        "memory_capacity_bytes": s.system.hardware.memory.hbm.capacity_bytes,
        "bound": {"prefill": r.prefill.cost.bound, "decode": r.decode.cost.bound},
        "energy_j_per_token": r.energy_j_per_token,
        "energy_model": "P = idle + (TDP - idle) * max(compute, memory) utilisation, per GPU, all GPUs of an instance",
        "notes": list(r.notes),
        "prefill": _phase_dict(r.prefill),
        "decode": _phase_dict(r.decode),
    }


def _group_ops(p: PhaseTiming) -> list[tuple[str, float, str]]:
    """(operator name, total seconds, dominant bound) aggregated over layers, largest first."""
    time: dict[str, float] = defaultdict(float)
    bound_time: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for c in p.cost.ops:
        time[c.op.name] += c.total_s
        bound_time[c.op.name][c.bound] += c.total_s
    rows = [(name, t, max(bound_time[name], key=bound_time[name].__getitem__)) for name, t in time.items()]
    return sorted(rows, key=lambda row: -row[1])


def print_inference(r: InferencePrediction, console: Console) -> None:
    d = inference_to_dict(r)
    s = r.scenario
    head = Table(title=f"{escape(s.model.name)} on {s.parallel.gpus}x {escape(s.system.hardware.name)}",
                 show_header=False)
    par = d["parallelism"]
    head.add_row("layout", f"TP={par['tp']} PP={par['pp']} EP={par['ep']} attention-DP={par['attention_dp']} "
                           f"replicas={par['replicas']}")
    head.add_row("precision", f"{s.precision.name}: weights {s.precision.weights.name}, activations "
                              f"{s.precision.activations.name}, KV {s.precision.kv_cache.name}")
    head.add_row("request", f"{s.request.input_len} in / {s.request.output_len} out, batch {r.batch} per instance")
    band = d["error_band_80"]
    head.add_row("TTFT (prefill of the batch)", f"{r.ttft_s * 1e3:,.1f} ms{band_text(band, 'ttft_s', ',.1f', 1e3)} "
                                                  f"(one prompt on an idle instance: {r.ttft_single_s * 1e3:,.1f} ms)")
    head.add_row("TPOT (decode step)", f"{r.tpot_s * 1e3:,.2f} ms{band_text(band, 'tpot_s', ',.2f', 1e3)}")
    head.add_row("throughput (system, output)", f"{r.throughput_tok_s:,.0f} tok/s"
                                                  f"{band_text(band, 'throughput_tok_s', ',.0f')} "
                                                  f"({d['throughput_tok_s_per_gpu']:,.0f} per GPU)")
    head.add_row("error band", band_caption(band))
    head.add_row("energy", f"{r.energy_j_per_token:.3f} J per output token")
    mem = r.memory
    capacity = s.system.hardware.memory.hbm.capacity_bytes
    head.add_row("memory per GPU", f"{mem.total / GiB:.1f} of {capacity / GiB:.0f} GiB "
                                   f"(weights {mem.weights / GiB:.1f}, KV {mem.kv_cache / GiB:.1f}, "
                                   f"SSM {mem.ssm_state / GiB:.2f}, activations {mem.activations / GiB:.1f}, "
                                   f"reserve {mem.runtime_reserve / GiB:.1f})")
    for phase in ("prefill", "decode"):
        pd = d[phase]
        share = pd["time_share_by_bound"][pd["bound"]]
        head.add_row(f"{phase} bound", f"{pd['bound']} ({share:.0%} of time): {pd['bound_reason']}")
    console.print(head)
    for note in r.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for phase, timing in (("prefill", r.prefill), ("decode", r.decode)):
        table = Table(title=f"{phase}: top operators per GPU (all layers)")
        for col in ("operator", "time ms", "share", "bound"):
            table.add_column(col, justify="right" if col in ("time ms", "share") else "left")
        total = timing.cost.time_s or 1.0
        for name, t, bound in _group_ops(timing)[:8]:
            table.add_row(name, f"{t * 1e3:,.3f}", f"{t / total:.0%}", bound)
        console.print(table)
