"""Explorer output: the sweep's progress bar, its summary, query results and Pareto fronts as tables or JSON."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from coscale.explore.sweep import SweepSummary

FRONT_COLUMNS = ("model", "hardware", "precision", "kv_precision", "tp", "pp", "ep", "gpus", "input_len",
                 "output_len", "batch")


@contextmanager
def sweep_progress(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields the `(done, total)` callback the sweep runner takes."""
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("[bold]explore"), BarColumn(), MofNCompleteColumn(), TextColumn("points"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = progress.add_task("sweep", total=None)
    with progress:
        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return "" if value is None else str(value)


def summary_to_dict(s: SweepSummary, front: pa.Table | None, objectives: tuple[str, ...]) -> dict[str, Any]:
    # "feasible" follows the CLI outcome convention (a bool); the count of feasible points is "feasible_points"
    return {"out": str(s.out), "points": s.points, "feasible": s.feasible > 0, "feasible_points": s.feasible,
            "reasons": dict(s.reasons),
            "chunks_computed": s.chunks_computed, "chunks_reused": s.chunks_reused, "elapsed_s": s.elapsed_s,
            "points_per_s": s.points_per_s, "front_objectives": list(objectives),
            "front": [] if front is None else front.to_pylist()}


def print_summary(s: SweepSummary, front: pa.Table | None, objectives: tuple[str, ...], console: Console,
                  limit: int = 15) -> None:
    console.print(f"[bold]{s.points:,}[/] points -> {s.out}  ({s.feasible:,} feasible; "
                  f"{s.chunks_computed} chunks computed, {s.chunks_reused} reused; {s.elapsed_s:.1f} s, "
                  f"{s.points_per_s:,.0f} points/s)")
    console.print("by reason: " + ", ".join(f"{r} {n:,}" for r, n in s.reasons))
    if front is not None:
        print_front(front, objectives, console, limit=limit)


def print_front(front: pa.Table, objectives: tuple[str, ...], console: Console, limit: int = 30) -> None:
    cols = [c for c in (*FRONT_COLUMNS, *(c for c in front.column_names if c.startswith("scale_")), *objectives)
            if c in front.column_names]
    table = Table(title=f"Pareto front over {', '.join(objectives)} ({front.num_rows} points)")
    for c in cols:
        table.add_column(c, justify="left" if c in ("model", "hardware", "precision", "kv_precision") else "right")
    for row in front.slice(0, limit).select(cols).to_pylist():
        table.add_row(*(_cell(row[c]) for c in cols))
    console.print(table)
    if front.num_rows > limit:
        console.print(f"... {front.num_rows - limit} more (use --json or `coscale explore query`)")


def front_to_dict(front: pa.Table, objectives: tuple[str, ...]) -> dict[str, Any]:
    return {"objectives": list(objectives), "points": front.num_rows, "front": front.to_pylist()}


def print_query(columns: tuple[str, ...], rows: tuple[tuple[Any, ...], ...], console: Console,
                limit: int = 200) -> None:
    table = Table(title=f"{len(rows)} rows")
    for c in columns:
        table.add_column(c)
    for r in rows[:limit]:
        table.add_row(*(_cell(v) for v in r))
    console.print(table)
    if len(rows) > limit:
        console.print(f"... {len(rows) - limit} more rows (use --json or LIMIT)")


def query_to_dict(columns: tuple[str, ...], rows: tuple[tuple[Any, ...], ...]) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return v if v is None or isinstance(v, bool | int | float | str) else str(v)

    return {"columns": list(columns), "rows": [{c: plain(v) for c, v in zip(columns, r, strict=True)} for r in rows]}
