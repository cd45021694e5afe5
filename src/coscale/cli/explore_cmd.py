"""`coscale explore`: sweep a design space to Parquet, query it with SQL, print Pareto fronts.

Outcomes (README, "Exit codes"): a sweep with at least one feasible point exits 0 with
`"feasible": true` (the count is `"feasible_points"`); a valid space in which no point is feasible
still writes every point with its reason, then exits 3 with `{"feasible": false, "reason": ...,
"out", "points", "reasons"}`; a malformed space file is bad input, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from coscale.errors import CoscaleError
from coscale.explore.query import front_of_file, pareto_file, parse_objectives, run_query
from coscale.explore.space import load_space
from coscale.explore.sweep import run_sweep
from coscale.outfile import check_out_file
from coscale.report.console import make_console, print_json
from coscale.report.explore import (
    front_to_dict,
    print_front,
    print_query,
    print_summary,
    query_to_dict,
    summary_to_dict,
    sweep_progress,
)

app = typer.Typer(help="Sweep model x precision x parallelism x chip spaces; query and rank the results.",
                  invoke_without_command=True, no_args_is_help=False)


@app.callback()
def explore(
    ctx: typer.Context,
    space: str | None = typer.Option(None, help="Space file (TOML) or the name of a shipped space."),
    out: Path = typer.Option(Path("results.parquet"), help="Parquet file to write (resumes a killed sweep; "
                                                           "refuses a file holding another space's results)."),
    backend: str = typer.Option("local", help="Where chunks run: local (process pool) or ray."),
    workers: int = typer.Option(1, help="Worker processes (local) or Ray CPUs."),
    address: str | None = typer.Option(None, help="Ray cluster address (default: start a local instance)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Evaluate every point of a space (infeasible ones kept with their reason) into one Parquet file,
    then print the Pareto front of the space's first two objectives."""
    if ctx.invoked_subcommand is not None:
        given = [name for name in ("space", "out", "backend", "workers", "address", "as_json")
                 if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"]  # typer vendors click
        if given:
            flag = "--json" if given[0] == "as_json" else f"--{given[0]}"
            raise CoscaleError(f"{flag} belongs to the sweep (coscale explore {flag} ...), which does not run with "
                               f"`{ctx.invoked_subcommand}`; give the subcommand's own options after its name.")
        return
    if address is not None and backend != "ray":
        raise CoscaleError(f"--address names a Ray cluster; the {backend} backend does not use it: add --backend ray "
                           f"or drop --address.")
    if space is None:
        raise CoscaleError("coscale explore needs --space FILE.toml (or a subcommand: query, pareto).")
    s = load_space(space)
    check_out_file(out, suffix=".parquet")  # before the sweep: never another kind of file, never a bad folder
    with sweep_progress(enabled=not as_json and sys.stderr.isatty()) as progress:
        summary = run_sweep(s, out, backend=backend, workers=workers, address=address, progress=progress)
    objectives = s.objectives[:2] if len(s.objectives) >= 2 else None
    front = front_of_file(out, objectives) if objectives else None  # batch by batch: any sweep size
    if as_json:
        print_json(summary_to_dict(summary, front, objectives or ()))
    else:
        print_summary(summary, front, objectives or (), make_console())


@app.command("query")
def query(
    results: Path = typer.Argument(..., help="Parquet file written by `coscale explore`."),
    sql: str = typer.Argument(..., help="SQL over the table `results` (DuckDB dialect)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run DuckDB SQL on a results file; the table is called `results`."""
    r = run_query(results, sql)
    if as_json:
        print_json(query_to_dict(r.columns, r.rows))
    else:
        print_query(r.columns, r.rows, make_console())


@app.command("pareto")
def pareto(
    results: Path = typer.Argument(..., help="Parquet file written by `coscale explore`."),
    objectives: str = typer.Option(..., help="Two or three objectives, comma-separated, e.g. "
                                             "throughput_per_gpu,tokens_per_s_per_user."),
    where: str | None = typer.Option(None, help="Only rows satisfying this SQL condition, e.g. "
                                                "\"input_len = 4096 AND model = 'qwen3-30b-a3b'\"."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The exact Pareto front (each objective in its own direction) with the configuration of every point."""
    names = parse_objectives(objectives)
    front = pareto_file(results, names, where)
    if as_json:
        print_json(front_to_dict(front, names))
    else:
        print_front(front, names, make_console())
