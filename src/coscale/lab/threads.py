"""How many intra-op threads torch may use: the cores this process may run on, less the ones busy.

torch's default is the machine's core count, which in a container or under `taskset` can be far
more than the cores the process is allowed, and on a shared machine other work already uses some
of them: oversubscribed threads spin against each other and a step can take tens of times longer.
So the lab takes the CPU affinity set, subtracts the 1-minute load average (work already running),
and never uses more threads than cores nor fewer than one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class ThreadChoice:
    threads: int
    cores: int  # CPUs in this process's affinity set
    load: float  # 1-minute load average when chosen


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def pick_threads(limit: int | None = None, *, cores: int | None = None, load: float | None = None) -> ThreadChoice:
    """min(limit, cores - busy cores), at least 1; `busy` is the load average rounded down."""
    cores = available_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    free = max(1, cores - int(load))
    threads = max(1, min(free, cores, limit if limit else cores))
    return ThreadChoice(threads=threads, cores=cores, load=load)
