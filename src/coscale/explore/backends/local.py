"""This process (one worker) or a pool of local processes, one chunk per task."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import pyarrow as pa

from coscale.explore.evaluate import Evaluator, evaluate_chunk
from coscale.explore.space import Space


def run_local(space: Space, chunks: list[int], *, workers: int) -> Iterator[tuple[int, pa.Table]]:
    if workers == 1 or len(chunks) <= 1:
        evaluator = Evaluator(space=space)  # one cache of models and chips for the whole sweep
        for chunk in chunks:
            yield chunk, evaluator.evaluate_chunk(chunk)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(evaluate_chunk, space, c): c for c in chunks[: 2 * workers]}
        queue = list(chunks[2 * workers:])
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                if queue:
                    nxt = queue.pop(0)
                    pending[pool.submit(evaluate_chunk, space, nxt)] = nxt
                yield chunk, future.result()
