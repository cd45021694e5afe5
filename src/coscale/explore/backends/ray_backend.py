"""A Ray cluster (optional extra `coscale[ray]`): one remote task per chunk, at most `workers` in flight.

`address` joins a running cluster (`ray://host:10001`, or "auto"); without one a local Ray
instance is started with `workers` CPUs and shut down when the sweep ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from coscale.errors import CoscaleError
from coscale.explore.evaluate import evaluate_chunk
from coscale.explore.space import Space


def _ray():
    try:
        import ray
    except ImportError:
        raise CoscaleError("--backend ray needs Ray: pip install 'coscale[ray]'.") from None
    return ray


def run_ray(space: Space, chunks: list[int], *, workers: int, address: str | None = None
            ) -> Iterator[tuple[int, pa.Table]]:
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(evaluate_chunk)
        space_ref = ray.put(space)
        in_flight = 2 * workers
        refs = {task.remote(space_ref, c): c for c in chunks[:in_flight]}
        queue = list(chunks[in_flight:])
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                chunk = refs.pop(ref)
                if queue:
                    nxt = queue.pop(0)
                    refs[task.remote(space_ref, nxt)] = nxt
                yield chunk, ray.get(ref)
    finally:
        if started:
            ray.shutdown()
