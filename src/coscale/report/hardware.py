"""The hardware catalog as a rich table or one JSON object (`coscale list hardware`).

The table shows the handful of figures people compare chips by (dense BF16/FP8/FP4, device memory
and bandwidth, host memory, scale-up link and domain, power, efficiency family); `--json` carries
every field in SI units, nested as the spec is, plus its sources and the efficiency family with
the provenance of each constant, so scripts never have to parse the table.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.markup import escape
from rich.table import Table

from coscale.hardware.catalog import list_hardware
from coscale.report.console import make_console, print_json
from coscale.specs.efficiency import EfficiencyModel
from coscale.specs.hardware import HardwareSpec


def efficiency_to_dict(eff: EfficiencyModel) -> dict[str, Any]:
    """Family, what it borrows, and every constant with its value and provenance."""
    values = {p: eff_value(eff, p) for p, _ in eff.sources}
    return {
        "family": eff.family,
        "borrows": eff.borrows or None,
        "fields": {p: {"value": values[p], "kind": s.kind, "source": s.detail, "cases": list(s.cases)}
                   for p, s in eff.sources},
        "notes": list(eff.notes),
    }


def eff_value(eff: EfficiencyModel, path: str) -> float:
    value: Any = eff
    for part in path.split("."):
        value = getattr(value, part)
    return value


def hardware_to_dict(spec: HardwareSpec) -> dict[str, Any]:
    """All fields of a spec as JSON-ready values (SI units, nested as in HardwareSpec)."""
    compute = asdict(spec.compute)
    compute["block_scaled_formats"] = list(spec.compute.block_scaled_formats)
    return {
        "id": spec.id,
        "name": spec.name,
        "vendor": spec.vendor,
        "compute": compute,
        "memory": asdict(spec.memory),
        "links": asdict(spec.links),
        "power": asdict(spec.power),
        "efficiency": efficiency_to_dict(spec.efficiency),
        "sources": dict(spec.sources),
        "notes": list(spec.notes),
    }


def _tflops(spec: HardwareSpec, compute_class: str) -> str:
    rate = spec.compute.peak(compute_class)
    return "-" if not rate else f"{rate / 1e12:.0f}"


def _compact(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def _row(s: HardwareSpec) -> list[str]:
    host = s.memory.host
    return [
        s.id,
        s.name,
        _tflops(s, "bf16"),
        _tflops(s, "fp8"),
        _tflops(s, "fp4"),
        _compact(s.memory.hbm.capacity_bytes / 2**30),
        _compact(s.memory.hbm.bandwidth_Bps / 1e12),
        "-" if host is None else _compact(host.capacity_bytes / 2**30),
        f"{s.links.scaleup.bandwidth_Bps / 1e9:.0f}",
        str(s.links.scaleup.domain_size),
        f"{s.power.tdp_w:.0f}",
        s.efficiency.family + ("*" if s.efficiency.borrows else ""),
    ]


HEADERS = ("id", "name", "BF16", "FP8", "FP4", "Mem GiB", "TB/s", "Host GiB", "Up GB/s", "Domain", "TDP W",
           "Efficiency")


def hardware_table(specs: list[HardwareSpec], *, width: int) -> Table:
    """Rich table of the comparison figures; '-' marks an unsupported precision or absent tier.

    Numbers are never truncated: on a terminal narrower than the full table the name column,
    the only one that is not needed to identify a chip, is dropped.
    """
    rows = [_row(s) for s in specs]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    full = sum(widths) + 3 * len(widths) + 1
    keep = [i for i in range(len(HEADERS)) if i != 1 or full <= width]
    table = Table(
        title="Dense peak TFLOP/s per device; scale-up GB/s per direction",
        caption="'-' = unsupported or absent; * = efficiency family borrows another's curves; sources: --json",
    )
    for i in keep:
        left = i < 2 or i == len(HEADERS) - 1
        table.add_column(HEADERS[i], justify="left" if left else "right", no_wrap=True, min_width=widths[i])
    for r in rows:
        table.add_row(*(escape(r[i]) for i in keep))
    return table


def list_hardware_table(as_json: bool) -> None:
    """Print the catalog: a rich table, or exactly one JSON object `{"hardware": [...]}` on stdout."""
    specs = list_hardware()
    if as_json:
        print_json({"hardware": [hardware_to_dict(s) for s in specs]})
        return
    console = make_console()
    console.print(hardware_table(specs, width=console.width))
