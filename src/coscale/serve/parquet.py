"""Per-request records and per-step time series to Parquet, written atomically (temp file + rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.engine import SimResult
from coscale.serve.metrics import request_arrays


def _atomic_write(table, path: Path) -> None:
    import pyarrow.parquet as pq

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(result: SimResult, path: str | Path) -> tuple[Path, Path]:
    """Requests to `path`, the step time series (all replicas) to `<stem>.steps.parquet` beside it."""
    import pyarrow as pa

    p = Path(path)
    if p.suffix != ".parquet":
        raise CoscaleError(f"--out must name a .parquet file, got '{path}'.")
    if not p.parent.is_dir():
        raise CoscaleError(f"--out folder '{p.parent}' does not exist; create it first.")
    r = request_arrays(result)
    rid = np.fromiter((s.req.rid for s in result.sequences), dtype=np.int64, count=len(result.sequences))
    reqs = pa.table({
        "request_id": rid, "arrival_s": r.arrival_s, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
        "scheduled_s": r.scheduled_s, "first_token_s": r.first_token_s, "finish_s": r.finish_s,
        "ttft_s": r.ttft, "tpot_s": r.tpot_all, "e2e_s": r.e2e, "queue_s": r.queue,
        "prefix_hit_tokens": r.hit_tokens, "prefilled_tokens": r.prefilled, "preemptions": r.preemptions,
        "recomputed_tokens": r.recomputed})
    cols: dict[str, list[np.ndarray]] = {}
    for rep in result.replicas:
        lg = rep.log.arrays()
        lg["replica"] = np.full(len(lg["start_s"]), rep.index, dtype=np.int64)
        lg["kv_utilization"] = lg["kv_blocks"] / rep.pool.num_blocks
        for k, v in lg.items():
            cols.setdefault(k, []).append(v)
    steps = pa.table({k: np.concatenate(v) for k, v in cols.items()})
    steps_path = p.with_name(p.stem + ".steps.parquet")
    _atomic_write(reqs, p)
    _atomic_write(steps, steps_path)
    return p, steps_path
