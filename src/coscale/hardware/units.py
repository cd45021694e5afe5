"""Human units allowed in catalog files and their SI factors.

Datasheets quote TFLOP/s, GB, TB/s, Gb/s and us; the rest of coscale works in FLOP/s, bytes,
bytes/s, seconds and W. Converting once, here, at the file boundary keeps every other module unit-free. Each kind
of quantity has its own table so that a rate can never be read as a capacity by mistake
(e.g. "GB" is valid for `memory`, "GB/s" only for bandwidths).

Bandwidth units may end in " bidirectional": NVLink, xGMI and ICI are marketed as the sum of both
directions, while the cost model needs one direction, so such figures are halved.
"""

from __future__ import annotations

from coscale.errors import CoscaleError

BIDIRECTIONAL_SUFFIX = " bidirectional"

RATE_UNITS: dict[str, float] = {
    "FLOP/s": 1.0,
    "GFLOP/s": 1e9,
    "TFLOP/s": 1e12,
    "PFLOP/s": 1e15,
    "OP/s": 1.0,
    "TOPS": 1e12,
    "POPS": 1e15,
}

# DRAM dies have power-of-two densities, so a vendor's "80 GB" HBM part holds 80 GiB; SRAM and
# marketing totals are quoted in decimal units. Files say which one they mean.
CAPACITY_UNITS: dict[str, float] = {
    "B": 1.0,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "MiB": 2.0**20,
    "GiB": 2.0**30,
    "TiB": 2.0**40,
}

BANDWIDTH_UNITS: dict[str, float] = {
    "B/s": 1.0,
    "GB/s": 1e9,
    "TB/s": 1e12,
    "PB/s": 1e15,
    "Gb/s": 1e9 / 8,  # network links are quoted in bits per second
    "Tb/s": 1e12 / 8,
}

POWER_UNITS: dict[str, float] = {"W": 1.0, "kW": 1e3}

# Stored as divisors (units per second) so that "15 us" converts to exactly 15e-6 s.
TIME_PER_SECOND: dict[str, float] = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}

COUNT_UNITS: dict[str, float] = {
    "GPUs": 1.0, "chips": 1.0, "devices": 1.0, "SMs": 1.0, "CUs": 1.0, "cores": 1.0,
}

# Idle power may be given as a fraction of TDP when no idle figure is published.
FRACTION_OF_TDP = "fraction of TDP"

UNIT_TABLES: dict[str, dict[str, float]] = {
    "rate": RATE_UNITS,
    "capacity": CAPACITY_UNITS,
    "bandwidth": BANDWIDTH_UNITS,
    "power": POWER_UNITS,
    "time": TIME_PER_SECOND,
    "count": COUNT_UNITS,
}


def to_si(value: float, unit: str, kind: str, *, where: str) -> float:
    """Convert `value` in `unit` to SI for a quantity of `kind`; `where` names the field for errors."""
    table = UNIT_TABLES[kind]
    base = unit
    divisor = 1.0
    if kind == "bandwidth" and unit.endswith(BIDIRECTIONAL_SUFFIX):
        base = unit[: -len(BIDIRECTIONAL_SUFFIX)]
        divisor = 2.0
    if base not in table:
        allowed = ", ".join(f"'{u}'" for u in table)
        extra = f" (optionally + '{BIDIRECTIONAL_SUFFIX.strip()}')" if kind == "bandwidth" else ""
        raise CoscaleError(f"{where}: unknown unit '{unit}'; use one of {allowed}{extra}")
    if kind == "time":
        return value / table[base]
    return value * table[base] / divisor
