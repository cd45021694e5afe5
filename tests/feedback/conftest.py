from __future__ import annotations

import json
from pathlib import Path

import pytest

from coscale.hardware.catalog import catalog_dir, load_hardware
from coscale.specs.hardware import HardwareSpec

DECODE_HEAVY = dict(model="llama-3.1-8b", precision="fp8", input_len=256, output_len=2048, batch=64)
LONG_PROMPT = dict(model="llama-3.1-8b", precision="fp8", input_len=8192, output_len=16, batch=8)


@pytest.fixture(scope="session")
def h100() -> HardwareSpec:
    return load_hardware("h100-sxm")


@pytest.fixture()
def dense_chip_file(tmp_path: Path) -> Path:
    """A compute-dense, GDDR-class variant of the H100 file: 2x every tensor rate, 0.5x memory bandwidth."""
    data = json.loads((catalog_dir() / "h100-sxm.json").read_text())
    data["id"], data["name"] = "dense-prefill", "compute-dense GDDR prefill part (test)"
    for key, field in data["compute"].items():
        if isinstance(field, dict) and "value" in field and key != "compute_units":
            field["value"] *= 2
    data["memory"]["hbm"]["bandwidth"]["value"] *= 0.5
    path = tmp_path / "dense.json"
    path.write_text(json.dumps(data))
    return path


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workload.toml"
    path.write_text(text)
    return path
