"""`coscale numerics ...` commands: the format table and quantization-error measurements.

`coscale.numerics` (and so torch) is imported inside each command, so that every other coscale
command starts without paying torch's import time.
"""

from __future__ import annotations

import json
import math

import typer
from rich.table import Table

from coscale.cli.console import make_console
from coscale.cli.extras import require_torch

app = typer.Typer(help="Low-precision number formats and quantization schemes.", no_args_is_help=True)


def _num(v: float) -> float | str:
    """JSON-safe number: inf/nan become strings so the output stays strict JSON."""
    return v if math.isfinite(v) else str(v)


@app.command("formats")
def formats(json_out: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Table of element formats and their limits."""
    from coscale import numerics
    rows = [
        {
            "name": f.name,
            "kind": f.kind,
            "bits": f.bits,
            "exponent_bits": f.exponent_bits,
            "mantissa_bits": f.mantissa_bits,
            "exponent_bias": f.exponent_bias,
            "max": f.max,
            "min_normal": f.min_normal,
            "min_subnormal": f.min_subnormal,
            "has_inf": f.has_inf,
            "has_nan": f.has_nan,
        }
        for f in numerics.list_formats()
    ]
    if json_out:
        typer.echo(json.dumps({"formats": rows}))
        return
    table = Table(title="element formats")
    for col in ("name", "bits", "E/M", "bias", "max", "min normal", "min subnormal", "Inf", "NaN"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        table.add_row(
            str(r["name"]),
            str(r["bits"]),
            f"{r['exponent_bits']}/{r['mantissa_bits']}",
            str(r["exponent_bias"]),
            f"{r['max']:.6g}",
            f"{r['min_normal']:.6g}",
            f"{r['min_subnormal']:.6g}",
            "yes" if r["has_inf"] else "no",
            "yes" if r["has_nan"] else "no",
        )
    make_console().print(table)


@app.command("schemes")
def schemes(json_out: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Registered quantization schemes."""
    from coscale import numerics
    rows = [
        {
            "name": s.name,
            "element": s.element,
            "block": list(s.block),
            "scale": s.scale,
            "granularity": s.granularity,
            "bits_per_element": s.bits_per_element,  # scales included (per-tensor/row scales amortised)
            "description": s.description,
        }
        for s in numerics.list_schemes()
    ]
    if json_out:
        typer.echo(json.dumps({"schemes": rows}))
        return
    table = Table(title="quantization schemes")
    for col in ("name", "element", "granularity", "block", "scale", "bits/elem", "description"):
        table.add_column(col)
    for r in rows:
        blk = "x".join(str(b) for b in r["block"])
        bits = f"{r['bits_per_element']:.6g}"
        table.add_row(r["name"], r["element"], r["granularity"], blk, r["scale"], bits, r["description"])
    make_console().print(table)


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
    d = {k: _num(v) if isinstance(v, float) else v for k, v in stats.to_dict().items()}
    if json_out:
        typer.echo(json.dumps(d))
        return
    table = Table(title=f"{scheme} on {dist} (n={n}, seed={seed})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("QSNR (dB)", f"{stats.qsnr_db:.2f}")
    table.add_row("relative RMSE", f"{stats.rel_rmse:.4g}")
    table.add_row("saturated share", f"{stats.saturated_frac:.4%}")
    table.add_row("flushed-to-zero share", f"{stats.flushed_to_zero_frac:.4%}")
    table.add_row("max |error|", f"{stats.max_abs_err:.4g}")
    make_console().print(table)
