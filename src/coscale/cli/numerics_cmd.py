"""`coscale numerics ...` commands: the format table and quantization-error measurements.

`coscale.numerics` (and so torch) is imported inside each command, so that every other coscale
command starts without paying torch's import time.
"""

from __future__ import annotations

import typer

from coscale.cli.extras import require_torch
from coscale.report.console import make_console, print_json
from coscale.report.numerics import error_table, formats_table, formats_to_dict, schemes_table, schemes_to_dict

app = typer.Typer(help="Low-precision number formats and quantization schemes.", no_args_is_help=True)


@app.command("formats")
def formats(json_out: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Table of element formats and their limits."""
    from coscale import numerics

    data = formats_to_dict(numerics.list_formats())
    if json_out:
        print_json(data)
        return
    make_console().print(formats_table(data))


@app.command("schemes")
def schemes(json_out: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Registered quantization schemes."""
    from coscale import numerics

    data = schemes_to_dict(numerics.list_schemes())
    if json_out:
        print_json(data)
        return
    make_console().print(schemes_table(data))


@app.command("error")
def error(
    scheme: str = typer.Option(..., "--scheme", help="scheme name (see `coscale numerics schemes`)"),
    dist: str = typer.Option("normal", "--dist", help="input distribution: normal|laplace|student-t"),
    n: int = typer.Option(1 << 22, "--n", help="number of samples"),
    seed: int = typer.Option(0, "--seed", help="sampling seed"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Quantization error of a scheme on synthetic data: QSNR, relative RMSE, saturation, flushes."""
    require_torch("numerics error")
    from coscale import numerics
    from coscale.numerics.metrics import sample

    numerics.get_scheme(scheme)
    stats = numerics.quantization_error(sample(dist, n, seed), scheme, dist=dist, seed=seed)
    if json_out:
        print_json(stats.to_dict())  # inf/nan (e.g. QSNR of an exact scheme) become strings
        return
    make_console().print(error_table(stats, f"{scheme} on {dist} (n={n}, seed={seed})"))
