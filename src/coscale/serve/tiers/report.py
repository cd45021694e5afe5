"""The `kv_tiers` section of a serving report: hit rates per tier, bytes moved, time the GPUs waited."""

from __future__ import annotations

from collections.abc import Sequence

from coscale.serve.tiers.replica_tiers import ReplicaTiers


def tier_report(tiers: Sequence[ReplicaTiers | None]) -> dict[str, object] | None:
    """Summed over replicas (a pod-shared tier counted once; capacities are totals). Rates are shares of
    the full prompt blocks looked up at admission: found in GPU memory (`gpu_hit_rate`), found in a
    tier (`hit_rate`: loaded, or recomputed because that was cheaper) and loaded from it (`load_rate`)."""
    live = [t for t in tiers if t is not None]
    if not live:
        return None
    lookup = sum(t.lookup_blocks for t in live)
    seen: set[int] = set()
    rows: dict[str, dict[str, object]] = {}  # one row per tier name: a replica-local tier summed over replicas
    for t in live:
        for lv in t.chain.levels:
            if id(lv) in seen:
                continue
            seen.add(id(lv))
            m = lv.medium
            bb = m.replica_block_bytes
            row = rows.setdefault(m.name, {
                "tier": m.name, "shared_by_pod": m.shared, "instances": 0, "capacity_blocks": 0, "capacity_gib": 0.0,
                "read_GBps_per_gpu": m.read_Bps / 1e9, "write_GBps_per_gpu": m.write_Bps / 1e9,
                "latency_s": m.latency_s, "hit_blocks": 0, "loaded_blocks": 0, "bytes_read": 0.0,
                "written_blocks": 0, "bytes_written": 0.0, "held_blocks": 0, "moved_out_blocks": 0,
                "source": m.source})
            row["instances"] += 1  # type: ignore[operator]
            for key, v in (("capacity_blocks", m.capacity_blocks), ("capacity_gib", m.capacity_blocks * bb / 2**30),
                           ("hit_blocks", lv.hits), ("loaded_blocks", lv.read), ("bytes_read", lv.read * bb),
                           ("written_blocks", lv.written), ("bytes_written", lv.written * bb),
                           ("held_blocks", len(lv)), ("moved_out_blocks", lv.moved_out)):
                row[key] += v  # type: ignore[operator]
    for row in rows.values():
        row["hit_rate"] = row["hit_blocks"] / lookup if lookup else 0.0  # type: ignore[operator]
        row["load_rate"] = row["loaded_blocks"] / lookup if lookup else 0.0  # type: ignore[operator]
    per_tier = list(rows.values())
    bb0 = live[0].chain.levels[0].medium.replica_block_bytes if live[0].chain.levels else 0.0
    loaded = sum(t.loaded_blocks for t in live)
    return {
        "tiers": per_tier,
        "keep": live[0].cfg.keep, "store": live[0].cfg.store,
        "lookup_blocks": lookup,
        "gpu_hit_rate": sum(t.gpu_hit_blocks for t in live) / lookup if lookup else 0.0,
        "tier_load_rate": loaded / lookup if lookup else 0.0,
        "tier_hits_recomputed_blocks": sum(t.recomputed_hit_blocks for t in live),
        "stored_blocks": sum(t.chain.stored for t in live),
        "stored_bytes": sum(t.chain.stored for t in live) * bb0,
        "loaded_bytes": sum(float(d["bytes_read"]) for d in per_tier),  # type: ignore[arg-type]
        "dropped_blocks": sum(t.chain.dropped for t in live),
        "store_wait_s": sum(t.chain.store_s for t in live),
        "load_wait_s": sum(t.chain.load_s for t in live),
    }


def change_vs(base: dict[str, object], rep: dict[str, object]) -> dict[str, float]:
    """Relative change of the headline figures of `rep` against the no-offload run `base` (+ = larger)."""
    def rel(a: float, b: float) -> float:
        return b / a - 1.0 if a else float("nan")
    bt, rt = base["ttft_s"], rep["ttft_s"]
    return {"ttft_mean": rel(bt["mean"], rt["mean"]), "ttft_p99": rel(bt["p99"], rt["p99"]),  # type: ignore[index]
            "throughput_tok_s": rel(base["throughput_tok_s"], rep["throughput_tok_s"]),  # type: ignore[arg-type]
            "request_throughput_rps": rel(base["request_throughput_rps"], rep["request_throughput_rps"]),  # type: ignore[arg-type]
            "e2e_mean": rel(base["e2e_s"]["mean"], rep["e2e_s"]["mean"])}  # type: ignore[index]
