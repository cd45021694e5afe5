"""The Ray backend (a local instance with two CPUs) gives exactly the local result (~8 s: default tier)."""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest

from coscale.explore.space import load_space
from coscale.explore.sweep import run_sweep

ray = pytest.importorskip("ray")


def _rows(path):
    rows = pq.read_table(path).sort_by([("design", "ascending")]).to_pylist()
    return [{k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


def test_ray_equals_local(small_space_file, tmp_path):
    space = load_space(small_space_file)
    run_sweep(space, tmp_path / "local.parquet")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        s = run_sweep(space, tmp_path / "ray.parquet", backend="ray", workers=2)
    finally:
        ray.shutdown()
    assert s.chunks_computed == space.num_chunks
    assert _rows(tmp_path / "local.parquet") == _rows(tmp_path / "ray.parquet")
