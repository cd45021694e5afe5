"""Run a space to a Parquet file: chunks not yet stored go to a backend, results are stored as they
arrive, and the summary counts points by reason (a space with no feasible point is an error that
says why, grouped by reason)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from coscale.errors import DoesNotFitError
from coscale.explore.backends import run_chunks
from coscale.explore.space import Space
from coscale.explore.store import ResultStore

Progress = Callable[[int, int], None]  # (points done, points in all)


@dataclass(frozen=True, kw_only=True, slots=True)
class SweepSummary:
    out: Path
    points: int
    feasible: int
    reasons: tuple[tuple[str, int], ...]  # every reason with its point count, most common first
    chunks_computed: int
    chunks_reused: int
    elapsed_s: float

    @property
    def points_per_s(self) -> float:
        computed = self.points * self.chunks_computed / max(self.chunks_computed + self.chunks_reused, 1)
        return computed / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def reason_counts(table: pa.Table) -> Counter[str]:
    counts = table.column("reason").combine_chunks().dictionary_decode().value_counts()
    return Counter({v["values"].as_py(): v["counts"].as_py() for v in counts})


def infeasible_message(reasons: Counter[str]) -> str:
    parts = ", ".join(f"{r} {n:,}" for r, n in reasons.most_common())
    top = reasons.most_common(1)[0][0] if reasons else ""
    fix = ("relax the [slo] limits, or add faster chips, more parallel.tp or a smaller precision"
           if top.startswith("slo_") else
           "widen parallel.tp or the hardware, use a smaller precision, or shorten the workload")
    return (f"every point of the space is infeasible ({parts}); {fix} (see `coscale explore query` on the output "
            "for details).")


def run_sweep(space: Space, out: str | Path, *, backend: str = "local", workers: int = 1,
              address: str | None = None, progress: Progress | None = None,
              stop_after: int | None = None) -> SweepSummary:
    """Evaluate every chunk not yet stored and write `out`. `stop_after` stops after that many newly
    computed chunks without finishing the file (what a killed sweep leaves; tests use it)."""
    store = ResultStore(out=Path(out), space=space)
    start = time.perf_counter()
    done = store.done_chunks()
    if not store.is_complete():
        store.open()
        done = store.done_chunks()
    todo = [c for c in range(space.num_chunks) if c not in done]
    reasons: Counter[str] = Counter()
    points_done = sum(len(space.chunk_designs(c)) for c in done) * space.num_workloads
    if progress:
        progress(points_done, space.size)
    computed = 0
    with closing(run_chunks(space, todo, backend=backend, workers=workers, address=address)) as results:
        for chunk, table in results:
            store.write_chunk(chunk, table)
            reasons += reason_counts(table)
            computed += 1
            points_done += table.num_rows
            if progress:
                progress(points_done, space.size)
            if stop_after is not None and computed >= stop_after:
                break
    if stop_after is not None and computed >= stop_after and len(todo) > computed:
        return SweepSummary(out=store.out, points=points_done, feasible=reasons["ok"],
                            reasons=tuple(reasons.most_common()), chunks_computed=computed,
                            chunks_reused=len(done), elapsed_s=time.perf_counter() - start)
    store.finalize()
    if done:  # reused chunks count too: read the reasons back from the file
        reasons = reason_counts(pq.read_table(store.out, columns=["reason"]))
    elapsed = time.perf_counter() - start
    if reasons["ok"] == 0:  # a valid space whose answer is "nothing is feasible": exit 3, the file kept
        raise DoesNotFitError(infeasible_message(reasons), out=str(store.out), points=space.size,
                              reasons=dict(reasons.most_common()))
    return SweepSummary(out=store.out, points=space.size, feasible=reasons["ok"], reasons=tuple(reasons.most_common()),
                        chunks_computed=computed, chunks_reused=len(done), elapsed_s=elapsed)
