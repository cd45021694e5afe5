"""Nothing on the predict path imports torch: run the CLI in a subprocess where `import torch` fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import coscale

SRC = str(Path(coscale.__file__).resolve().parents[1])

# a meta-path finder that refuses torch, then the CLI (or a snippet) in the same interpreter
BLOCK_TORCH = """
import importlib.abc, runpy, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None
sys.meta_path.insert(0, NoTorch())
"""
RUN_CLI = BLOCK_TORCH + """
sys.argv = ["coscale", *sys.argv[1:]]
runpy.run_module("coscale", run_name="__main__")
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)


def test_the_blocker_really_blocks_torch() -> None:
    res = _run(BLOCK_TORCH + "import torch")
    assert res.returncode != 0 and "torch is blocked" in res.stderr


def test_predict_inference_json_runs_without_torch() -> None:
    res = _run(RUN_CLI, "predict", "inference", "--precision", "fp8", "--kv-precision", "fp8", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["precision"] == {"recipe": "fp8-tensor", "weights": "fp8", "activations": "fp8", "kv_cache": "fp8"}
    assert out["tpot_s"] > 0


def test_planner_numerics_tables_and_recipes_import_without_torch() -> None:
    code = BLOCK_TORCH + """
import coscale.numerics.formats, coscale.numerics.schemes, coscale.numerics.qlinear_config
import coscale.specs.precision, coscale.predict.inference, coscale.train.planner, coscale.lab.recipes
import coscale.cli.app, coscale.validation.runner
from coscale.numerics import get_scheme, QuantLinearConfig
assert get_scheme("mxfp8_e4m3").bits_per_element == 8.25
assert "torch" not in sys.modules
"""
    res = _run(code)
    assert res.returncode == 0, res.stderr
    res = _run(RUN_CLI, "numerics", "schemes", "--json")
    assert res.returncode == 0, res.stderr
    bits = {s["name"]: s["bits_per_element"] for s in json.loads(res.stdout)["schemes"]}
    assert bits["mxfp8_e4m3"] == 8.25 and bits["nvfp4"] == 4.5 and bits["fp8_e4m3_tensor"] == 8
    res = _run(RUN_CLI, "lab", "recipes", "--json")
    assert res.returncode == 0, res.stderr
    assert "nvfp4-no-rht" in {r["name"] for r in json.loads(res.stdout)["recipes"]}


def test_torch_commands_name_the_missing_extra() -> None:
    res = _run(RUN_CLI, "lab", "train", "--recipe", "nvfp4")
    assert res.returncode == 2
    assert "needs torch" in res.stderr and "coscale[lab]" in res.stderr and "Traceback" not in res.stderr
