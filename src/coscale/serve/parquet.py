"""Per-request records and per-step time series to Parquet, written atomically (temp file + rename)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from coscale.outfile import check_out_file, temp_beside
from coscale.serve.disagg.engine import DisaggResult
from coscale.serve.engine import SimResult
from coscale.serve.metrics import request_arrays


def _atomic_write(table, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = temp_beside(path)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_out_path(path: str | Path) -> Path:
    """The `--out` path, checked: a writable .parquet file, and its step series' file beside it."""
    p = check_out_file(path, suffix=".parquet")
    check_out_file(steps_path(p), flag="--out (its step series)", suffix=".parquet")
    return p


def steps_path(p: Path) -> Path:
    """Where the per-step time series of the requests file `p` goes."""
    return p.with_name(p.stem + ".steps.parquet")


def _request_columns(result: SimResult) -> dict[str, np.ndarray]:
    r = request_arrays(result)
    rid = np.fromiter((s.req.rid for s in result.sequences), dtype=np.int64, count=len(result.sequences))
    return {
        "request_id": rid, "arrival_s": r.arrival_s, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
        "scheduled_s": r.scheduled_s, "first_token_s": r.first_token_s, "finish_s": r.finish_s,
        "ttft_s": r.ttft, "tpot_s": r.tpot_all, "e2e_s": r.e2e, "queue_s": r.queue,
        "prefix_hit_tokens": r.hit_tokens, "prefilled_tokens": r.prefilled, "preemptions": r.preemptions,
        "recomputed_tokens": r.recomputed}


def _step_columns(pools: dict[str, tuple]) -> dict[str, np.ndarray]:
    """One row per forward pass of every replica; with more than one pool, a `pool` column names it."""
    cols: dict[str, list[np.ndarray]] = {}
    for name, replicas in pools.items():
        for rep in replicas:
            lg = rep.log.arrays()
            n = len(lg["start_s"])
            if len(pools) > 1:
                lg["pool"] = np.full(n, name, dtype=object)
            lg["replica"] = np.full(n, rep.index, dtype=np.int64)
            lg["kv_utilization"] = lg["kv_blocks"] / rep.pool.num_blocks
            for k, v in lg.items():
                cols.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in cols.items()}


def _write_pair(requests: dict[str, np.ndarray], step_columns: dict[str, np.ndarray], p: Path) -> tuple[Path, Path]:
    import pyarrow as pa

    steps = steps_path(p)
    _atomic_write(pa.table(requests), p)
    _atomic_write(pa.table(step_columns), steps)
    return p, steps


def write_parquet(result: SimResult, path: str | Path) -> tuple[Path, Path]:
    """Requests to `path`, the step time series (all replicas) to `<stem>.steps.parquet` beside it."""
    p = check_out_path(path)
    return _write_pair(_request_columns(result), _step_columns({"": result.replicas}), p)


def write_disagg_parquet(result: DisaggResult, path: str | Path) -> tuple[Path, Path]:
    """A disaggregated run: the request columns of an aggregated run plus each request's KV transfer
    (prefill and decode instance, bytes, start and finish, time exposed after the prefill, wait for
    decode blocks, admission wait after the KV arrived, prompt tokens reused on the decode side; -1 /
    NaN for a request done at its first token, which sends nothing), and the steps of both pools."""
    p = check_out_path(path)
    cols = _request_columns(result.sim)
    row = {int(r): i for i, r in enumerate(cols["request_id"])}
    n = len(row)
    ints = {k: np.full(n, -1, dtype=np.int64) for k in ("prefill_instance", "decode_instance")}
    floats = {k: np.full(n, np.nan) for k in ("kv_bytes", "kv_transfer_start_s", "kv_transfer_finish_s",
                                              "kv_exposed_after_prefill_s", "kv_wait_for_decode_blocks_s",
                                              "decode_admission_wait_s")}
    reused = np.zeros(n, dtype=np.int64)
    for t in result.transfers:
        i = row[t.rid]
        ints["prefill_instance"][i], ints["decode_instance"][i] = t.src, t.dst
        floats["kv_bytes"][i], floats["kv_transfer_start_s"][i] = t.bytes, t.start_s
        floats["kv_transfer_finish_s"][i], floats["kv_exposed_after_prefill_s"][i] = t.finish_s, t.exposed_s
    for name, waits in (("kv_wait_for_decode_blocks_s", result.block_wait_s),
                        ("decode_admission_wait_s", result.decode_wait_s)):
        for rid, v in waits.items():
            floats[name][row[rid]] = v
    for rid, v in result.decode_reused_tokens.items():
        reused[row[rid]] = v
    requests = {**cols, **ints, **floats, "decode_reused_tokens": reused}
    return _write_pair(requests, _step_columns({"prefill": result.prefill, "decode": result.decode}), p)
