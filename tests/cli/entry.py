"""Run `coscale` exactly as installed: the console-script entry point declared in the package
metadata (pyproject `[project.scripts]`), loaded and called in a fresh interpreter. Nothing is
re-wired here, so a command missing from `cli/app.py` is missing in these tests too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DRIVER = Path(__file__).with_name("driver.py")

# resolve `coscale` through importlib.metadata (what the `coscale` script does), then call it
_ENTRY = ("import sys; from importlib.metadata import entry_points; "
          "(ep,) = entry_points(group='console_scripts', name='coscale'); "
          "assert ep.value == 'coscale.cli.app:main', ep.value; sys.argv[0] = 'coscale'; sys.exit(ep.load()())")


def coscale(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _ENTRY, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return " ".join(lines[0].split())


def run_in_one_interpreter(argv: list[list[str]], tmp: Path, timeout: float = 900) -> list[dict]:
    """Run each argument list (with `{tmp}` replaced by `tmp`) through the entry point in one
    interpreter (driver.py), in order; one outcome dict per list."""
    argv = [[a.replace("{tmp}", str(tmp)) for a in args] for args in argv]
    r = subprocess.run([sys.executable, str(DRIVER)], input=json.dumps(argv), capture_output=True, text=True,
                       timeout=timeout, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def one_model_space(name: str, model: str) -> str:
    """An explore space of one model on one H100 in BF16 at TP1, two batch sizes."""
    return f"""name = "{name}"
objectives = ["throughput_per_gpu", "tokens_per_s_per_user"]
[axes]
model = ["{model}"]
hardware = ["h100-sxm"]
precision = ["bf16"]
"parallel.tp" = [1]
"workload.input_len" = [1024]
"workload.output_len" = [128]
"workload.batch" = [1, 8]
"""
