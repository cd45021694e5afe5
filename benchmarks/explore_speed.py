"""Design points per second of `coscale explore` on one core: a shipped inference space (10^6 points),
evaluated with feasibility (layout rules, memory fit, context), written to Parquet, then the exact
Pareto front of its first two objectives; and the same sweep on Ray with two local workers.

    python benchmarks/explore_speed.py [--space llama70b-qwen30b] [--no-ray]

The last line is one JSON object; `points_per_s` is the single-core figure (goal >= 20,000).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from coscale.explore.objectives import get_objective
from coscale.explore.pareto import pareto_mask
from coscale.explore.space import load_space
from coscale.explore.sweep import run_sweep


def one_run(space_name: str, out: Path, backend: str, workers: int) -> dict:
    space = load_space(space_name)
    tic = time.perf_counter()
    summary = run_sweep(space, out, backend=backend, workers=workers)
    swept = time.perf_counter() - tic
    objectives = space.objectives[:2]
    table = pq.read_table(out, columns=list(objectives))
    values = np.column_stack([table.column(o).to_numpy() for o in objectives])
    front = pareto_mask(values, [get_objective(o).maximize for o in objectives])
    total = time.perf_counter() - tic
    return {"backend": backend, "workers": workers, "points": summary.points, "feasible": summary.feasible,
            "front_points": int(front.sum()), "sweep_s": round(swept, 3), "total_s": round(total, 3),
            "points_per_s": round(summary.points / total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="llama70b-qwen30b")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray run")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one core: no threaded BLAS underneath numpy
    with tempfile.TemporaryDirectory() as tmp:
        local = one_run(args.space, Path(tmp) / "local.parquet", "local", 1)
        print(f"local, 1 worker: {local}")
        result = {"benchmark": "explore_speed", "space": args.space, "points": local["points"],
                  "points_per_s": local["points_per_s"], "seconds": local["total_s"], "local": local}
        try:
            import ray  # noqa: F401
        except ImportError:
            args.no_ray = True
            result["ray"] = "not installed (pip install 'coscale[ray]')"
        if not args.no_ray:
            on_ray = one_run(args.space, Path(tmp) / "ray.parquet", "ray", 2)
            print(f"ray, 2 local workers: {on_ray}")
            result["ray"] = on_ray
    print(json.dumps(result))


if __name__ == "__main__":
    main()
