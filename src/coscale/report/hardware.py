"""The hardware catalog as a rich table or one JSON object (`coscale list hardware`).

The table shows the handful of figures people compare chips by (dense BF16/FP8/FP4, memory,
bandwidth, scale-up link, domain, power); `--json` carries every field in SI units plus its
sources, so scripts never have to parse the table.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from coscale.hardware.catalog import list_hardware
from coscale.report.console import make_console, print_json
from coscale.specs.hardware import HardwareSpec


def hardware_to_dict(spec: HardwareSpec) -> dict[str, Any]:
    """All fields of a spec as JSON-ready values (SI units, field names as in HardwareSpec)."""
    return {
        "id": spec.id,
        "name": spec.name,
        "vendor": spec.vendor,
        "peak_flops": dict(spec.peak_flops),
        "memory_bytes": spec.memory_bytes,
        "memory_bw_Bps": spec.memory_bw_Bps,
        "scaleup_bw_Bps": spec.scaleup_bw_Bps,
        "scaleup_domain": spec.scaleup_domain,
        "scaleout_bw_Bps": spec.scaleout_bw_Bps,
        "host_link_Bps": spec.host_link_Bps,
        "tdp_w": spec.tdp_w,
        "idle_w": spec.idle_w,
        "compute_units": spec.compute_units,
        "block_scaled_formats": list(spec.block_scaled_formats),
        "sources": dict(spec.sources),
        "notes": list(spec.notes),
    }


def _tflops(spec: HardwareSpec, compute_class: str) -> str:
    rate = spec.peak_flops.get(compute_class)
    return "-" if rate is None else f"{rate / 1e12:.0f}"


def _compact(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def _row(s: HardwareSpec) -> list[str]:
    return [
        s.id,
        s.name,
        _tflops(s, "bf16"),
        _tflops(s, "fp8"),
        _tflops(s, "fp4"),
        _compact(s.memory_bytes / 2**30),
        _compact(s.memory_bw_Bps / 1e12),
        f"{s.scaleup_bw_Bps / 1e9:.0f}",
        str(s.scaleup_domain),
        f"{s.tdp_w:.0f}",
    ]


HEADERS = ("id", "name", "BF16", "FP8", "FP4", "Mem GiB", "TB/s", "Up GB/s", "Domain", "TDP W")


def hardware_table(specs: list[HardwareSpec], *, width: int) -> Table:
    """Rich table of the comparison figures; '-' marks an unsupported precision.

    Numbers are never truncated: on a terminal narrower than the full table the name column,
    the only one that is not needed to identify a chip, is dropped.
    """
    rows = [_row(s) for s in specs]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    full = sum(widths) + 3 * len(widths) + 1
    keep = [i for i in range(len(HEADERS)) if i != 1 or full <= width]
    table = Table(
        title="Dense peak TFLOP/s per device; scale-up GB/s per direction",
        caption="'-' = unsupported; sources: --json",
    )
    for i in keep:
        table.add_column(HEADERS[i], justify="left" if i < 2 else "right", no_wrap=True, min_width=widths[i])
    for r in rows:
        table.add_row(*(r[i] for i in keep))
    return table


def list_hardware_table(as_json: bool) -> None:
    """Print the catalog: a rich table, or exactly one JSON object `{"hardware": [...]}` on stdout."""
    specs = list_hardware()
    if as_json:
        print_json({"hardware": [hardware_to_dict(s) for s in specs]})
        return
    console = make_console()
    console.print(hardware_table(specs, width=console.width))
