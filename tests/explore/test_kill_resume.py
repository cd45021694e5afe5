"""A sweep killed with SIGKILL resumes from its stored chunks (a real process, so in the slow tier)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path):
    out = tmp_path / "r.parquet"
    cmd = [sys.executable, "-m", "coscale", "explore", "--space", "llama70b-qwen30b", "--out", str(out), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    parts = tmp_path / "r.parquet.parts"
    deadline = time.monotonic() + 120
    while not list(parts.glob("chunk-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    stored = len(list(parts.glob("chunk-*.parquet")))
    assert 1 <= stored < 6 and not out.exists()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    summary = json.loads(done.stdout)
    assert summary["chunks_reused"] >= stored and summary["chunks_computed"] + summary["chunks_reused"] == 6
    assert summary["points"] == 1_008_000 and out.exists() and not parts.exists()
