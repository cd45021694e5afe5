"""Run `coscale` exactly as installed: the console-script entry point declared in the package
metadata (pyproject `[project.scripts]`), loaded and called in a fresh interpreter. Nothing is
re-wired here, so a command missing from `cli/app.py` is missing in these tests too."""

from __future__ import annotations

import subprocess
import sys

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
