"""The `kv_tiers` section of a serving report: hit rates per tier, bytes moved, time the GPUs waited."""

from __future__ import annotations

from collections.abc import Sequence

from coscale.serve.tiers.replica_tiers import ReplicaTiers


def tier_report(tiers: Sequence[ReplicaTiers | None]) -> dict[str, object] | None:
    """Summed over replicas (a pod-shared tier counted once). Hit rates are shares of the full prompt
    blocks looked up at admission: found in GPU memory, loaded from each tier."""
    live = [t for t in tiers if t is not None]
    if not live:
        return None
    lookup = sum(t.lookup_blocks for t in live)
    seen: dict[int, dict[str, object]] = {}
    for t in live:
        for lv in t.chain.levels:
            if id(lv) in seen:
                continue
            m = lv.medium
            bb = m.replica_block_bytes
            seen[id(lv)] = {
                "tier": m.name, "shared_by_pod": m.shared, "capacity_blocks": m.capacity_blocks,
                "capacity_gib": m.capacity_blocks * bb / 2**30, "read_GBps_per_gpu": m.read_Bps / 1e9,
                "write_GBps_per_gpu": m.write_Bps / 1e9, "latency_s": m.latency_s,
                "hit_rate": lv.hits / lookup if lookup else 0.0,
                "loaded_blocks": lv.read, "bytes_read": lv.read * bb,
                "written_blocks": lv.written, "bytes_written": lv.written * bb,
                "held_blocks": len(lv), "moved_out_blocks": lv.moved_out, "source": m.source}
    bb0 = live[0].chain.levels[0].medium.replica_block_bytes if live[0].chain.levels else 0.0
    per_tier = list(seen.values())
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
