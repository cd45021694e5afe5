"""A small space (64 designs x 12 workloads, 8 chunks) that mixes feasible and infeasible points."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_SPACE = """
name = "small"
objectives = ["throughput_per_gpu", "tokens_per_s_per_user", "cost_per_mtok"]
usd_per_gpu_hour = 2.0
chunk_points = 96
max_batch = 128

[axes]
model = ["llama-3.1-8b", "qwen3-30b-a3b"]
hardware = ["h100-sxm", "b200"]
"hardware.memory.hbm.bandwidth_Bps" = {scale = [1.0, 2.0]}
precision = ["bf16", "fp8"]
"parallel.tp" = [1, 3, 4, 8]
"workload.input_len" = [512, 4096, 131072]
"workload.output_len" = {geom = [128, 1024, 2]}
"workload.batch" = [1, 64]
"""


@pytest.fixture(scope="session")
def small_space_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("space") / "small.toml"
    path.write_text(SMALL_SPACE, encoding="utf-8")
    return path
