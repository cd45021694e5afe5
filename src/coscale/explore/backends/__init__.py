"""Where chunks are evaluated: this process or a local process pool (`local`), or a Ray cluster (`ray`).

A backend takes the space and the chunk ids still to do and yields `(chunk, table)` as each one
finishes, in any order; the sweep runner stores them. Both compute with `evaluate.evaluate_chunk`,
so their results are identical row for row.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from coscale.errors import CoscaleError
from coscale.explore.space import Space

BACKENDS = ("local", "ray")


def run_chunks(space: Space, chunks: list[int], *, backend: str = "local", workers: int = 1,
               address: str | None = None) -> Iterator[tuple[int, pa.Table]]:
    if workers < 1:
        raise CoscaleError(f"--workers must be a positive integer, got {workers}.")
    if backend == "local":
        from coscale.explore.backends.local import run_local

        return run_local(space, chunks, workers=workers)
    if backend == "ray":
        from coscale.explore.backends.ray_backend import run_ray

        return run_ray(space, chunks, workers=workers, address=address)
    raise CoscaleError(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}.")
