"""SQL over a results file with DuckDB (the table is called `results`), and Pareto fronts of a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from coscale.commalist import comma_items
from coscale.errors import CoscaleError
from coscale.explore.objectives import OBJECTIVES, get_objective
from coscale.explore.pareto import pareto_mask
from coscale.explore.store import read_results, results_file


@dataclass(frozen=True, kw_only=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def run_query(path: str | Path, sql: str) -> QueryResult:
    """Run `sql` on the Parquet file at `path`, visible as the table `results`."""
    import duckdb

    results_file(path)
    if not sql.strip():
        raise CoscaleError("empty SQL; e.g. \"SELECT model, max(throughput_per_gpu) FROM results GROUP BY model\".")
    con = duckdb.connect()
    try:
        escaped = str(path).replace("'", "''")
        con.execute(f"CREATE VIEW results AS SELECT * FROM read_parquet('{escaped}')")
        cur = con.execute(sql)
        if cur.description is None:
            return QueryResult(columns=(), rows=())
        columns = tuple(d[0] for d in cur.description)
        return QueryResult(columns=columns, rows=tuple(tuple(r) for r in cur.fetchall()))
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise CoscaleError(f"the query failed: {first} (the table is called `results`).") from None
    finally:
        con.close()


def parse_objectives(text: str) -> tuple[str, ...]:
    names = tuple(comma_items(text, "--objectives"))
    if not 2 <= len(names) <= 3 or len(set(names)) != len(names):
        raise CoscaleError(f"--objectives takes two or three distinct objectives separated by commas, got '{text}'.")
    for n in names:
        get_objective(n)
    return names


def front_of(table: pa.Table, objectives: tuple[str, ...]) -> pa.Table:
    """Rows of `table` on the exact Pareto front of `objectives` (each in its own direction), with every
    configuration column, sorted by the first objective from best to worst."""
    missing = [o for o in objectives if o not in table.column_names]
    if missing:
        present = [c for c in table.column_names if c in OBJECTIVES]
        raise CoscaleError(f"objective {', '.join(missing)} is not in this results file; it has {', '.join(present)} "
                           "(add it to the space's objectives and rerun).")
    maximize = [get_objective(o).maximize for o in objectives]
    values = np.column_stack([table.column(o).to_numpy(zero_copy_only=False) for o in objectives])
    idx = np.flatnonzero(pareto_mask(values, maximize))
    first = values[idx, 0]
    idx = idx[np.argsort(-first if maximize[0] else first, kind="stable")]
    return table.take(pa.array(idx))


def select_rows(path: str | Path, where: str) -> pa.Table:
    """Rows of a results file that satisfy a SQL condition (DuckDB picks the row numbers; the rows
    come from the file itself, so every column keeps its type)."""
    import duckdb

    table = read_results(path)
    con = duckdb.connect()
    try:
        escaped = str(path).replace("'", "''")
        # the condition in parentheses, and on a line of its own so that a trailing -- comment ends there
        rows = con.execute(f"SELECT file_row_number FROM read_parquet('{escaped}', file_row_number = true) "
                           f"WHERE ({where}\n) ORDER BY file_row_number").fetchnumpy()["file_row_number"]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise CoscaleError(f"--where '{where}' failed: {first}; give one SQL condition on the file's columns, "
                           f"e.g. \"feasible AND model = 'llama-3.1-8b'\".") from None
    finally:
        con.close()
    return table.take(pa.array(np.asarray(rows, dtype=np.int64)))


def pareto_file(path: str | Path, objectives: tuple[str, ...], where: str | None = None) -> pa.Table:
    """The front of a results file, optionally of the rows that satisfy `where` (a SQL condition)."""
    if not where:
        return front_of_file(path, objectives)
    return front_of(select_rows(path, where), objectives)


def front_of_file(path: str | Path, objectives: tuple[str, ...], batch_rows: int = 1_000_000) -> pa.Table:
    """`front_of` the whole file, read in batches of `batch_rows`: the front of each batch's objective
    columns, then the front of those candidates (a point dominated inside its batch is dominated
    overall), then the front rows' every column in a second pass. Memory is one batch plus the
    candidates, whatever the file's size (a 10^7-point sweep never sits in memory)."""
    import pyarrow.parquet as pq

    read_results_schema = _schema(path)
    missing = [o for o in objectives if o not in read_results_schema.names]
    if missing:
        present = [c for c in read_results_schema.names if c in OBJECTIVES]
        raise CoscaleError(f"objective {', '.join(missing)} is not in this results file; it has {', '.join(present)} "
                           "(add it to the space's objectives and rerun).")
    maximize = [get_objective(o).maximize for o in objectives]
    f = pq.ParquetFile(path)
    idx_parts, val_parts, offset = [], [], 0
    for batch in f.iter_batches(batch_size=batch_rows, columns=list(objectives)):
        v = np.column_stack([batch.column(o).to_numpy(zero_copy_only=False) for o in objectives]).astype(np.float64)
        keep = np.flatnonzero(pareto_mask(v, maximize))
        idx_parts.append(keep + offset)
        val_parts.append(v[keep])
        offset += batch.num_rows
    if not idx_parts:
        return read_results_schema.empty_table()
    idx, vals = np.concatenate(idx_parts), np.concatenate(val_parts)
    final = np.flatnonzero(pareto_mask(vals, maximize))
    idx, first = idx[final], vals[final, 0]
    order = np.argsort(-first if maximize[0] else first, kind="stable")
    wanted = np.sort(idx)
    pieces, offset = [], 0
    for batch in f.iter_batches(batch_size=batch_rows):
        lo, hi = np.searchsorted(wanted, [offset, offset + batch.num_rows])
        if hi > lo:
            pieces.append(pa.Table.from_batches([batch]).take(pa.array(wanted[lo:hi] - offset)))
        offset += batch.num_rows
    rows = pa.concat_tables(pieces)  # in file order; put them in the order of the first objective
    position = {int(i): k for k, i in enumerate(wanted)}
    return rows.take(pa.array([position[int(i)] for i in idx[order]]))


def _schema(path: str | Path) -> pa.Schema:
    import pyarrow.parquet as pq

    results_file(path)
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CoscaleError(f"'{path}' is not a readable Parquet file ({exc}).") from None
