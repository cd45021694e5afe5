"""Number formats, quantization schemes and quantization-error statistics: one JSON-ready dict each
and the tables drawn from them (`coscale numerics ...`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:  # coscale.numerics imports torch; only its types are needed here
    from coscale.numerics.formats import ElementFormat
    from coscale.numerics.metrics import ErrorStats
    from coscale.numerics.schemes import QuantScheme


def formats_to_dict(formats: list[ElementFormat]) -> dict[str, Any]:
    return {"formats": [
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
        for f in formats
    ]}


def formats_table(data: dict[str, Any]) -> Table:
    table = Table(title="element formats")
    for col in ("name", "bits", "E/M", "bias", "max", "min normal", "min subnormal", "Inf", "NaN"):
        table.add_column(col, no_wrap=True)
    for r in data["formats"]:
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
    return table


def schemes_to_dict(schemes: list[QuantScheme]) -> dict[str, Any]:
    return {"schemes": [
        {
            "name": s.name,
            "element": s.element,
            "block": list(s.block),
            "scale": s.scale,
            "granularity": s.granularity,
            "bits_per_element": s.bits_per_element,  # scales included (per-tensor/row scales amortised)
            "description": s.description,
        }
        for s in schemes
    ]}


def schemes_table(data: dict[str, Any]) -> Table:
    table = Table(title="quantization schemes")
    for col in ("name", "element", "granularity", "block", "scale", "bits/elem", "description"):
        table.add_column(col)
    for r in data["schemes"]:
        blk = "x".join(str(b) for b in r["block"])
        bits = f"{r['bits_per_element']:.6g}"
        table.add_row(r["name"], r["element"], r["granularity"], blk, r["scale"], bits, r["description"])
    return table


def error_table(stats: ErrorStats, title: str) -> Table:
    """The measured error of one scheme (its JSON is `ErrorStats.to_dict()`)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("QSNR (dB)", f"{stats.qsnr_db:.2f}")
    table.add_row("relative RMSE", f"{stats.rel_rmse:.4g}")
    table.add_row("saturated share", f"{stats.saturated_frac:.4%}")
    table.add_row("flushed-to-zero share", f"{stats.flushed_to_zero_frac:.4%}")
    table.add_row("max |error|", f"{stats.max_abs_err:.4g}")
    return table
